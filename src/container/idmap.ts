// Id-mapped binds are made by the runtime, which holds the host's
// privileges, as detached trees sent to the init over its channel in step
// order; the init attaches each where its step says.
import type { InitPlan } from "../init/plan.ts";
import { O } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { cstr, ERRLEN, errText } from "../sys/mem.ts";

export function sendIdmappedTrees(plan: InitPlan, initPid: number, channel: number): void {
  for (const step of plan.steps) {
    if (step.op !== "mount" || !step.idmap) continue;
    const err = Buffer.alloc(ERRLEN);
    const { uidMap, gidMap, recursive } = step.idmap;
    const userns =
      uidMap === null || gidMap === null
        ? check(
            sys.bunc_openat2(-100, cstr(`/proc/${initPid}/ns/user`), O.RDONLY | O.CLOEXEC, 0, 0),
            "open the container's user namespace",
          )
        : sys.bunc_userns_fd(cstr(uidMap), cstr(gidMap), err);
    if (userns < 0) throw new Error(`${step.target}: ${errText(err)}`);
    try {
      const tree = sys.bunc_idmapped_tree(cstr(step.source), userns, recursive ? 1 : 0, err);
      if (tree < 0) throw new Error(`${step.target}: ${errText(err)}`);
      try {
        check(sys.bunc_send_fd(channel, tree), "send an id-mapped mount to the init");
      } finally {
        sys.bunc_close(tree);
      }
    } finally {
      sys.bunc_close(userns);
    }
  }
}
