// A container that is created, running or paused, as the verbs that look at one
// (events, ps) need it: its state and its checked cgroup, read under its
// lock as kill reads them. The lock is released before they return, so a
// stream of events never keeps kill or delete waiting.
import type { Cgroup } from "../cgroups/cgroup.ts";
import type { StoredState } from "../oci/state.ts";
import { containerCgroup } from "./remains.ts";
import { currentStatus } from "./status.ts";
import type { Store } from "./store.ts";

export function liveContainer(store: Store, id: string): { state: StoredState; cgroup: Cgroup } {
  const lock = store.lock(id);
  try {
    const { state, status } = currentStatus(store, id);
    if (status !== "created" && status !== "running" && status !== "paused")
      throw new Error(`container with id ${id} is not running`);
    return { state, cgroup: containerCgroup(id, state.cgroup) };
  } finally {
    lock.release();
  }
}
