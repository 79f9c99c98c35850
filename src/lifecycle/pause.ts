// `pause` and `resume`: freeze and thaw every process of a running container
// through its cgroup's freezer (v1's, or cgroup2's cgroup.freeze).
import { containerCgroup } from "./remains.ts";
import { currentStatus } from "./status.ts";
import type { Store } from "./store.ts";

export function setPaused(store: Store, id: string, paused: boolean): void {
  const lock = store.lock(id);
  try {
    const { state, status } = currentStatus(store, id);
    const from = paused ? "running" : "paused";
    if (status !== from)
      throw new Error(`cannot ${paused ? "pause" : "resume"} container ${id}: it is ${status}, not ${from}`);
    containerCgroup(id, state.cgroup).setFrozen(paused);
  } finally {
    lock.release();
  }
}
