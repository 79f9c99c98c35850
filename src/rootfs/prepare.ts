// The root filesystem in the order runc builds it: propagation, the rootfs
// bind, the config's mounts, /dev, hostname, pivot_root; then, from inside,
// read-only and masked paths and a read-only root.
import { readFileSync } from "node:fs";
import { posix } from "node:path";
import type { InitPlan } from "../protocol/plan.ts";
import { MS, O } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { openPath } from "../sys/open.ts";
import { cstr } from "../sys/mem.ts";
import { unescapeMountinfo } from "../sys/mountinfo.ts";
import { createDevices, setupDev } from "./dev.ts";
import { applyStep, mount, remountReadonly } from "./mount.ts";
import { maskPaths, readonlyPaths } from "./paths.ts";
import { moveRoot, pivotRoot } from "./pivot.ts";

/** trees: the id-mapped mounts the runtime sent, in the order of their steps. */
export function prepareRootfs(plan: InitPlan, trees: number[]): void {
  mount("", "/", "", plan.rootPropagation, "", "set the propagation of /");
  // pivot_root refuses a shared parent, and a shared parent would carry the
  // rootfs bind back to the host.
  if (plan.rootPropagation & MS.SHARED) {
    const parent = mountPointOf(posix.dirname(plan.rootfs));
    mount("", parent, "", MS.PRIVATE, "", `make ${parent} private`);
  }
  mount(plan.rootfs, plan.rootfs, "", MS.BIND | MS.REC, "", `bind ${plan.rootfs}`);
  const rootFd = openPath(plan.rootfs, O.PATH | O.DIRECTORY, `open ${plan.rootfs}`);
  try {
    for (const step of plan.steps) applyStep(rootFd, step, trees);
    if (plan.setupDev) setupDev(rootFd);
    createDevices(rootFd, plan.devices);
  } finally {
    sys.bunc_close(rootFd);
  }
  if (plan.hostname !== null) check(sys.bunc_sethostname(cstr(plan.hostname)), "sethostname");
  if (plan.domainname !== null) check(sys.bunc_setdomainname(cstr(plan.domainname)), "setdomainname");
  if (plan.noPivot) moveRoot(plan.rootfs);
  else pivotRoot(plan.rootfs);
  // Propagation applies to the current "/", so it is set again on the new one.
  if (plan.configuredPropagation !== null) {
    mount("", "/", "", plan.configuredPropagation, "", "set linux.rootfsPropagation on /");
  }
}

/** The mount point (in this mount namespace) that holds path. */
function mountPointOf(path: string): string {
  let best = "/";
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const field = line.split(" ")[4];
    const point = field === undefined ? undefined : unescapeMountinfo(field);
    if (
      point &&
      (path === point || path.startsWith(point === "/" ? "/" : `${point}/`)) &&
      point.length > best.length
    ) {
      best = point;
    }
  }
  return best;
}

export function finishRootfs(plan: InitPlan): void {
  readonlyPaths(plan.readonlyPaths);
  maskPaths(plan.maskedPaths);
  if (plan.readonlyRoot) remountReadonly("/");
}
