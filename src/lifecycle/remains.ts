// What is left of a container to end and remove, read from its state: the
// cgroup as the runtime made it (checked, never taken on trust). For a
// damaged state, see damaged.ts.
import { Cgroup } from "../cgroups/cgroup.ts";
import type { CgroupState } from "../oci/state.ts";

/** The container's cgroup from its stored state, checked against its path. */
export const containerCgroup = (id: string, cg: CgroupState): Cgroup => Cgroup.fromState(id, cg);
