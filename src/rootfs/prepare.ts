// The root filesystem in the order runc builds it: propagation, the rootfs
// bind, the config's mounts, /dev, hostname, pivot_root; then, from inside,
// read-only and masked paths and a read-only root.
import type { InitPlan } from "../init/plan.ts";
import { MS, O } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { cstr } from "../sys/mem.ts";
import { createDevices, setupDev } from "./dev.ts";
import { applyStep, mount, remountReadonly } from "./mount.ts";
import { maskPaths, readonlyPaths } from "./paths.ts";
import { moveRoot, pivotRoot } from "./pivot.ts";

export function prepareRootfs(plan: InitPlan): void {
  mount("", "/", "", plan.rootPropagation, "", "set the propagation of /");
  mount(plan.rootfs, plan.rootfs, "", MS.BIND | MS.REC, "", `bind ${plan.rootfs}`);
  const rootFd = check(
    sys.bunc_openat2(-100, cstr(plan.rootfs), O.PATH | O.DIRECTORY | O.CLOEXEC, 0, 0),
    `open ${plan.rootfs}`,
  );
  try {
    for (const step of plan.steps) applyStep(rootFd, step);
    if (plan.setupDev) setupDev(rootFd);
    createDevices(rootFd, plan.devices);
  } finally {
    sys.bunc_close(rootFd);
  }
  if (plan.hostname !== null) check(sys.bunc_sethostname(cstr(plan.hostname)), "sethostname");
  if (plan.domainname !== null) check(sys.bunc_setdomainname(cstr(plan.domainname)), "setdomainname");
  if (plan.noPivot) moveRoot(plan.rootfs);
  else pivotRoot(plan.rootfs);
}

export function finishRootfs(plan: InitPlan): void {
  readonlyPaths(plan.readonlyPaths);
  maskPaths(plan.maskedPaths);
  if (plan.readonlyRoot) remountReadonly("/");
}
