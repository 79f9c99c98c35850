// `delete`: end what is left of a container and remove its cgroup and state.
import * as v from "valibot";
import { cgroupPids, destroyCgroup } from "../cgroups/manager.ts";
import { debug } from "../debug.ts";
import { type Remains, Remains as RemainsSchema, type Status, type StoredState } from "../oci/state.ts";
import { signalAll } from "./signal.ts";
import { currentStatus, isAlive } from "./status.ts";
import { ContainerNotFound, DamagedState, type Store } from "./store.ts";

async function waitGone(state: Remains): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (!isAlive(state.pid, state.pidStartTime) && cgroupPids(state.cgroup).length === 0) return;
    await Bun.sleep(i < 20 ? 1 : 10);
  }
  throw new Error(`processes of container ${state.id} did not exit after SIGKILL`);
}

/** --force on a state.json bunc cannot read (another version wrote it): end what it names. */
async function deleteDamaged(store: Store, id: string, raw: unknown): Promise<void> {
  const parsed = v.safeParse(RemainsSchema, { ...(raw as object), id });
  const state: Remains = parsed.success
    ? parsed.output
    : { id, pid: 0, pidStartTime: "", cgroup: { path: "", dirs: [] } };
  signalAll(state, 9);
  await waitGone(state);
  await destroyCgroup(state.cgroup);
  store.remove(id);
}

/** Removes a stopped container; a created one is killed first, a running one only with force. */
export async function deleteContainer(store: Store, id: string, force: boolean): Promise<void> {
  let lock: ReturnType<Store["lock"]>;
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
      // Holding the lock, a directory without state can only be a create
      // that died before writing any: nothing else of it exists.
      if (e instanceof ContainerNotFound) {
        store.remove(id);
        return;
      }
      if (!(e instanceof DamagedState) || !force) throw e;
      await deleteDamaged(store, id, e.raw);
      return;
    }
    if (status === "creating") throw new Error(`cannot delete container ${id}: it is being created`);
    if (status === "running" && !force) {
      throw new Error(`cannot delete container ${id} that is not stopped: ${status} (use --force)`);
    }
    // Without a pid namespace, processes can outlive the init: kill the rest too.
    signalAll(state, 9);
    await waitGone(state);
    debug(`processes of ${id} gone`);
    await destroyCgroup(state.cgroup);
    store.remove(id);
    debug(`deleted ${id}`);
  } finally {
    lock.release();
  }
}
