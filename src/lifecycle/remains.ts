// What is left of a container to end and remove, read from its state: the
// cgroup as the runtime made it (checked, never taken on trust), and for a
// damaged state whatever can still be read or found on disk.
import * as v from "valibot";
import { Cgroup } from "../cgroups/cgroup.ts";
import { DEFAULT_PARENT } from "../cgroups/path.ts";
import { type CgroupState, Remains } from "../oci/state.ts";
import type { Processes } from "./signal.ts";

/** The container's cgroup from its stored state, checked against its path. */
export const containerCgroup = (id: string, cg: CgroupState): Cgroup => Cgroup.fromState(id, cg);

/**
 * From a state.json bunc cannot read (damaged, or written by another
 * version): the init if its pid and start time survive, and the cgroup the
 * state names or, failing that, the one under bunc's default parent that is
 * named after the container.
 */
export function damagedRemains(id: string, raw: unknown): Processes {
  const parsed = v.safeParse(Remains, { ...(typeof raw === "object" && raw ? raw : {}), id });
  const r = parsed.success ? parsed.output : { pid: 0, pidStartTime: "", cgroup: { path: "", dirs: [] } };
  const cgroup = r.cgroup.path
    ? Cgroup.fromState(id, r.cgroup)
    : Cgroup.fromState(id, { path: `${DEFAULT_PARENT}/${id}`, dirs: [] });
  return { pid: r.pid, pidStartTime: r.pidStartTime, cgroup };
}
