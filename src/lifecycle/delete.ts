// `delete`: end what is left of a container and remove its cgroup and state.
import { debug, warn } from "../diag.ts";
import type { Status, StoredState } from "../oci/state.ts";
import { isAlive, waitUntil } from "../sys/process.ts";
import { hookState } from "../hooks/state.ts";
import { containerCgroup } from "./remains.ts";
import { type Processes, signalAll } from "./signal.ts";
import { currentStatus } from "./status.ts";
import { ContainerNotFound, DamagedState, type Store } from "./store.ts";

/** SIGKILLs the container's processes, waits until none is left, removes its cgroup and state. */
async function endAndRemove(store: Store, id: string, p: Processes): Promise<void> {
  signalAll(p, 9);
  const gone = await waitUntil(() => !isAlive(p.pid, p.pidStartTime) && !p.cgroup.busy(), 20_000);
  if (!gone) throw new Error(`processes of container ${id} did not exit after SIGKILL; its state is kept`);
  debug(`processes of ${id} gone`);
  await p.cgroup.destroy();
  store.remove(id);
}

/** Removes a stopped container; a created one is killed first, a running one only with force. */
/** exitStatus: the container process's, when the caller saw it end (`run` in the foreground), for poststop hooks. */
export async function deleteContainer(
  store: Store,
  id: string,
  force: boolean,
  exitStatus?: number,
): Promise<void> {
  let lock: ReturnType<Store["lock"]>;
  let poststop: StoredState | undefined;
  // Held from the state's removal through poststop: a create of the same id
  // with precreate hooks waits, so that our poststop (the unpack plugin's
  // teardown, say) cannot take what that create just made.
  let claim: ReturnType<Store["claim"]> | undefined;
  try {
    lock = store.lock(id);
  } catch (e) {
    // As with runc, --force makes delete idempotent: engines retry it.
    if (force && e instanceof ContainerNotFound) return;
    throw e;
  }
  try {
    let state: StoredState;
    let status: Status;
    try {
      ({ state, status } = currentStatus(store, id));
    } catch (e) {
      if (!(e instanceof DamagedState) || !force) throw e;
      // A state is written before anything else is made: without one, nothing was.
      if (e.text === null) {
        store.remove(id);
        return;
      }
      const { damagedRemains } = await import("./damaged.ts");
      const remains = damagedRemains(id, e.raw, e.text);
      if (!remains) {
        throw new Error(
          `state of container ${id} is damaged beyond reading: neither its init nor its cgroup can be found from it; remove ${store.dir(id)} by hand once nothing of it runs`,
        );
      }
      await endAndRemove(store, id, remains);
      warn(`container ${id} had a damaged state; ended and removed what was found of it`);
      return;
    }
    if (status === "creating") throw new Error(`cannot delete container ${id}: it is being created`);
    if ((status === "running" || status === "paused") && !force) {
      throw new Error(`cannot delete container ${id} that is not stopped: ${status} (use --force)`);
    }
    if (state.hooks?.poststop) claim = store.claim(id, true);
    // Without a pid namespace, processes can outlive the init: kill the rest too.
    await endAndRemove(store, id, { ...state, cgroup: containerCgroup(id, state.cgroup) });
    debug(`deleted ${id}`);
    poststop = state;
  } catch (e) {
    claim?.release();
    throw e;
  } finally {
    lock.release();
  }
  // After the container is gone; a failing hook is a warning. (The hook runner is loaded only then.)
  try {
    if (poststop?.hooks?.poststop)
      await (await import("../hooks/run.ts")).runStageWarning(
        "poststop",
        poststop.hooks.poststop,
        hookState(poststop, "stopped", 0, exitStatus),
        { cwd: poststop.bundle, root: store.root },
      );
  } finally {
    claim?.release();
  }
}
