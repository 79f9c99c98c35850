// What `run` does once its container is created, in runc's mode and in
// shell mode alike: start it, and unless detached wait for its process
// (relaying the terminal or the caller's signals), then delete it unless
// asked to keep it.
import { debug } from "../diag.ts";
import { exitCodeOf, relayTerminal, waitForeground } from "../launch/console.ts";
import { sys } from "../sys/lib.ts";
import type { Created } from "./create.ts";
import { deleteContainer } from "./delete.ts";
import { startContainer } from "./start.ts";
import type { Store } from "./store.ts";

export interface RunOptions {
  readonly detach: boolean;
  readonly keep: boolean;
}

/** Returns the exit code for the caller (0 when detached). */
export async function runCreated(store: Store, created: Created, o: RunOptions): Promise<number> {
  const { state, master } = created;
  // From before `start`: a signal that reached us in between would end bunc
  // and leave the container running (a terminal relay takes over its own).
  if (!o.detach) sys.bunc_forward_signals(state.pid);
  // Once the process is reaped, its pid may become anyone's: nothing more is passed on.
  const stopForwarding = () => {
    if (!o.detach) sys.bunc_forward_signals(0);
  };
  let ready: Promise<void>;
  try {
    ({ ready } = await startContainer(store, state.id));
  } catch (e) {
    stopForwarding();
    await deleteContainer(store, state.id, true);
    throw e;
  }
  if (o.detach) {
    await ready;
    return 0;
  }
  let exitCode: number | undefined;
  try {
    // Waiting blocks: the NOTIFY_SOCKET relay goes first, unless a terminal
    // is relayed alongside.
    const status =
      master === undefined
        ? await ready.then(() => waitForeground(state.pid))
        : (await Promise.all([relayTerminal(master, state.pid), ready]))[0];
    debug(`container exited: status ${status}`);
    exitCode = exitCodeOf(status);
    return exitCode;
  } finally {
    stopForwarding();
    // Also when waiting failed: a foreground container does not outlive its run.
    if (!o.keep) await deleteContainer(store, state.id, true, exitCode);
  }
}
