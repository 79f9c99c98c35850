// Id-mapped binds are made by the runtime, which holds the host's
// privileges, as detached trees the init receives over its channel in
// step order; the init attaches each where its step says.
import type { InitPlan } from "../protocol/plan.ts";
import { O } from "../sys/constants.ts";

import { sys } from "../sys/lib.ts";
import { openPath } from "../sys/open.ts";
import { cstr, ErrBuf } from "../sys/mem.ts";

type Idmap = NonNullable<Extract<InitPlan["steps"][number], { op: "mount" }>["idmap"]>;

function idmappedTree(source: string, idmap: Idmap, initPid: number, target: string): number {
  const err = new ErrBuf();
  const { uidMap, gidMap, recursive } = idmap;
  const userns =
    uidMap === null || gidMap === null
      ? openPath(`/proc/${initPid}/ns/user`, O.RDONLY, "open the container's user namespace")
      : sys.bunc_userns_fd(cstr(uidMap), cstr(gidMap), err.buf, err.len);
  if (userns < 0) throw new Error(`${target}: ${err.text()}`);
  try {
    const tree = sys.bunc_idmapped_tree(cstr(source), userns, recursive ? 1 : 0, err.buf, err.len);
    if (tree < 0) throw new Error(`${target}: ${err.text()}`);
    return tree;
  } finally {
    sys.bunc_close(userns);
  }
}

/** The id-mapped trees of the plan's mount steps, in step order; the caller closes them. */
export function idmappedTrees(steps: InitPlan["steps"], initPid: number): number[] {
  const trees: number[] = [];
  try {
    for (const step of steps) {
      if (step.op === "mount" && step.idmap)
        trees.push(idmappedTree(step.source, step.idmap, initPid, step.target));
    }
  } catch (e) {
    for (const t of trees) sys.bunc_close(t);
    throw e;
  }
  return trees;
}
