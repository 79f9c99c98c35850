import { defineCommand } from "citty";
import { connectConsoleSocket } from "../../launch/console.ts";
import { createContainer } from "../../lifecycle/create.ts";
import { runCreated } from "../../lifecycle/run.ts";
import { idArg, idOf, rejectUnknownFlags, store } from "../command.ts";
import { globals } from "../options.ts";
import { createFlags } from "../createFlags.ts";
import { passedFds } from "../../lifecycle/passFds.ts";

export default defineCommand({
  meta: {
    name: "run",
    description:
      "create and start a container; wait for it unless --detach. With --rootfs DIR or --image REF, no bundle: bunc run --rootfs DIR [FLAGS] -- CMD [ARGS...] (see bunc run --rootfs --help)",
  },
  args: {
    ...idArg,
    ...createFlags,
    detach: { type: "boolean", alias: "d", description: "do not wait for the container" },
    keep: { type: "boolean", description: "keep the stopped container instead of deleting it" },
  },
  async run(ctx) {
    rejectUnknownFlags(ctx);
    // Before anything is opened: the range must hold only the caller's fds.
    const passed = passedFds(ctx.args["preserve-fds"], true);
    const id = idOf(ctx.args);
    const s = store();
    const socket = ctx.args["console-socket"];
    if (socket && !ctx.args.detach)
      throw new Error("--console-socket: only with --detach (in the foreground bunc is the terminal)");
    const created = await createContainer(s, {
      id,
      bundle: ctx.args.bundle,
      pidFile: ctx.args["pid-file"],
      noPivot: ctx.args.pivot === false,
      noNewKeyring: ctx.args["new-keyring"] === false,
      hooksDirs: globals.hooksDirs,
      systemdCgroup: globals.systemdCgroup,
      passed,
      console: socket ? connectConsoleSocket(socket) : ctx.args.detach ? undefined : "foreground",
    });
    process.exitCode = await runCreated(s, created, { detach: !!ctx.args.detach, keep: !!ctx.args.keep });
  },
});
