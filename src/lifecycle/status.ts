// A container's status, computed from its stored state and the live system:
// whether its creator or init is alive (same pid, same start time) and
// whether the exec fifo is still waiting for `start`, whether its cgroup is
// frozen.
import { existsSync } from "node:fs";
import type { StateOutput, Status, StoredState } from "../oci/state.ts";
import { isAlive } from "../sys/process.ts";
import { isFrozen, recordedFreezer } from "../cgroups/freezer.ts";
import type { Store } from "./store.ts";

export function statusOf(s: StoredState, fifo: string): Status {
  if (s.creating) return isAlive(s.creatorPid, s.creatorStartTime) ? "creating" : "stopped";
  if (!isAlive(s.pid, s.pidStartTime)) return "stopped";
  return existsSync(fifo) ? "created" : "running";
}

/** The status, with "paused" for a live container whose cgroup is frozen. */
export function currentStatus(store: Store, id: string): { state: StoredState; status: Status } {
  const state = store.read(id);
  const status = statusOf(state, store.fifo(id));
  if (status !== "running" && status !== "created") return { state, status };
  // A read where create recorded the freezer: `state` need not load the cgroup code.
  const freezer = recordedFreezer(state.cgroup.dirs);
  if (freezer && isFrozen(freezer)) return { state, status: "paused" };
  return { state, status };
}

export function stateOutput(s: StoredState, status: Status): StateOutput {
  return {
    ociVersion: s.ociVersion,
    id: s.id,
    pid: status === "stopped" ? 0 : s.pid,
    status,
    bundle: s.bundle,
    rootfs: s.rootfs,
    created: s.created,
    owner: s.owner,
    annotations: s.annotations,
  };
}
