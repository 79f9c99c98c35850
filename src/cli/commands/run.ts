import { defineCommand } from "citty";
import { debug } from "../../diag.ts";
import { connectConsoleSocket, exitCodeOf, relayTerminal, waitForeground } from "../../launch/console.ts";
import { createContainer } from "../../lifecycle/create.ts";
import { deleteContainer } from "../../lifecycle/delete.ts";
import { startContainer } from "../../lifecycle/start.ts";
import { idArg, idOf, rejectUnknownFlags, store } from "../command.ts";
import { globals } from "../options.ts";
import { createFlags } from "../createFlags.ts";
import { passedFds } from "../../lifecycle/passFds.ts";

export default defineCommand({
  meta: { name: "run", description: "create and start a container; wait for it unless --detach" },
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
    const { state, master } = await createContainer(s, {
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
    let ready: Promise<void>;
    try {
      ({ ready } = await startContainer(s, id));
    } catch (e) {
      await deleteContainer(s, id, true);
      throw e;
    }
    if (ctx.args.detach) return await ready;
    let exitCode: number | undefined;
    try {
      // Waiting blocks: the NOTIFY_SOCKET relay goes first, unless a terminal is relayed alongside.
      const status =
        master === undefined
          ? await ready.then(() => waitForeground(state.pid))
          : (await Promise.all([relayTerminal(master, state.pid), ready]))[0];
      debug(`container exited: status ${status}`);
      exitCode = exitCodeOf(status);
      process.exitCode = exitCode;
    } finally {
      // Also when waiting failed: a foreground container does not outlive its run.
      if (!ctx.args.keep) await deleteContainer(s, id, true, exitCode);
    }
  },
});
