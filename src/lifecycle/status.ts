// A container's status, computed from its stored state and the live system:
// whether its init is alive (same pid, same start time) and whether the
// exec fifo is still waiting for `start`.
import { existsSync, readFileSync } from "node:fs";
import type { StateOutput, Status, StoredState } from "../oci/state.ts";
import type { Store } from "./store.ts";

/** Start time of a live (not zombie) process, or null. */
export function processStartTime(pid: number): string | null {
  if (pid <= 0) return null;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // Fields after the command name, which may itself hold spaces and ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (rest[0] === "Z" || rest[0] === "X") return null;
  return rest[19] ?? null;
}

export function isAlive(pid: number, startTime: string): boolean {
  return processStartTime(pid) === startTime;
}

export function statusOf(s: StoredState, fifo: string): Status {
  if (s.creating) return processStartTime(s.creatorPid) !== null ? "creating" : "stopped";
  if (!isAlive(s.pid, s.pidStartTime)) return "stopped";
  return existsSync(fifo) ? "created" : "running";
}

export function currentStatus(store: Store, id: string): { state: StoredState; status: Status } {
  const state = store.read(id);
  return { state, status: statusOf(state, store.fifo(id)) };
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
