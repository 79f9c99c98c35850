// Id-mapped binds are made by the runtime, which holds the host's
// privileges, as detached trees before the container exists; the init
// receives each as the fd named after its mount step and attaches it.
import type { RootfsStep } from "../protocol/plan.ts";
import { sys } from "../sys/lib.ts";
import { cstr, ErrBuf } from "../sys/mem.ts";

type MountStep = Extract<RootfsStep, { op: "mount" }>;

function idmappedTree(step: MountStep & { idmap: NonNullable<MountStep["idmap"]> }): number {
  const err = new ErrBuf();
  const { uidMap, gidMap, recursive } = step.idmap;
  const userns = sys.bunc_userns_fd(cstr(uidMap), cstr(gidMap), err.buf, err.len);
  if (userns < 0) throw new Error(`${step.field}: ${err.text()}`);
  try {
    const tree = sys.bunc_idmapped_tree(cstr(step.source), userns, recursive ? 1 : 0, err.buf, err.len);
    if (tree < 0) throw new Error(`${step.field}: ${err.text()}`);
    return tree;
  } finally {
    sys.bunc_close(userns);
  }
}

/** The id-mapped trees of the plan's mount steps, by field; the caller closes them. */
export function idmappedTrees(steps: readonly RootfsStep[]): Map<string, number> {
  const trees = new Map<string, number>();
  try {
    for (const step of steps) {
      if (step.op === "mount" && step.idmap)
        trees.set(step.field, idmappedTree({ ...step, idmap: step.idmap }));
    }
  } catch (e) {
    for (const t of trees.values()) sys.bunc_close(t);
    throw e;
  }
  return trees;
}
