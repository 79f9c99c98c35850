import { defineCommand } from "citty";
import { connectConsoleSocket } from "../../launch/console.ts";
import { createContainer } from "../../lifecycle/create.ts";
import { idArg, idOf, rejectUnknownFlags, store } from "../command.ts";
import { globals } from "../options.ts";
import { createFlags } from "../createFlags.ts";
import { passedFds } from "../../lifecycle/passFds.ts";

export default defineCommand({
  meta: { name: "create", description: "create a container; its process waits for `start`" },
  args: { ...idArg, ...createFlags },
  async run(ctx) {
    rejectUnknownFlags(ctx);
    // Before anything is opened: the range must hold only the caller's fds.
    const passed = passedFds(ctx.args["preserve-fds"], true);
    const id = idOf(ctx.args);
    const socket = ctx.args["console-socket"];
    await createContainer(store(), {
      id,
      bundle: ctx.args.bundle,
      pidFile: ctx.args["pid-file"],
      noPivot: ctx.args.pivot === false,
      noNewKeyring: ctx.args["new-keyring"] === false,
      hooksDirs: globals.hooksDirs,
      systemdCgroup: globals.systemdCgroup,
      passed,
      console: socket ? connectConsoleSocket(socket) : undefined,
    });
  },
});
