// The root filesystem in the order runc builds it: propagation, the rootfs
// bind, the config's mounts, /dev, hostname, pivot_root; then, from inside,
// read-only and masked paths and a read-only root.
import { readFileSync } from "node:fs";
import { posix } from "node:path";
import type { InitPlan, RootfsStep } from "../protocol/plan.ts";
import { MS, O } from "../sys/constants.ts";

const MOUNT_ATTR_RDONLY = 1;
import { check, forField } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { openPath } from "../sys/open.ts";
import { cstr } from "../sys/mem.ts";
import { mountPointOf, parseMountinfo } from "../sys/mountinfo.ts";
import { createDevice, setupDev } from "./dev.ts";
import { applyStep, mount, remountReadonly } from "./mount.ts";
import { maskPaths, readonlyPath } from "./paths.ts";
import { moveRoot, pivotRoot } from "./pivot.ts";

/**
 * trees: the id-mapped mounts the runtime sent, by the field of their step;
 * beforePivot: what runs once every mount is in place, before pivot_root
 * (the hooks of createRuntime and createContainer).
 */
/**
 * The host's / as the root: a recursive copy of the mount tree, taken before
 * anything is mounted (so it holds nothing of ours), read-only all the way
 * down when asked, attached at the stage directory.
 */
function attachHostRoot(stage: string, readonly: boolean): void {
  const self = openPath("/", O.PATH | O.DIRECTORY, "open /");
  try {
    const tree = check(sys.bunc_clone_tree(self, 1), "copy the host's mount tree");
    try {
      if (readonly)
        check(
          sys.bunc_mount_setattr(tree, cstr(""), 1, MOUNT_ATTR_RDONLY, 0, 0),
          "make the host's / read-only",
        );
      check(sys.bunc_move_mount(tree, cstr(stage)), `attach the host's / at ${stage}`);
    } finally {
      sys.bunc_close(tree);
    }
  } finally {
    sys.bunc_close(self);
  }
}

export function prepareRootfs(
  plan: InitPlan,
  trees: ReadonlyMap<string, number>,
  beforePivot: () => void,
): void {
  const rootfs = plan.hostRootStage ?? plan.rootfs;
  forField("linux.rootfsPropagation", () => {
    mount("", "/", "", plan.rootPropagation, "", "set the propagation of /");
    // pivot_root refuses a shared parent, and a shared parent would carry
    // what is attached at the root (its bind, or the host's tree at the
    // stage) back to the host.
    if (plan.rootPropagation & MS.SHARED) {
      const mounts = parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8"));
      const parent = mountPointOf(mounts, posix.dirname(rootfs));
      mount("", parent, "", MS.PRIVATE, "", `make ${parent} private`);
    }
  });
  const rootFd = forField("root.path", () => {
    if (plan.hostRootStage) attachHostRoot(plan.hostRootStage, plan.readonlyRoot);
    else if (plan.rootOverlay)
      mount("overlay", rootfs, "overlay", 0, plan.rootOverlay, `mount the overlay root on ${rootfs}`);
    else mount(rootfs, rootfs, "", MS.BIND | MS.REC, "", `bind ${rootfs}`);
    return openPath(rootfs, O.PATH | O.DIRECTORY, `open ${rootfs}`);
  });
  // Bind sources are opened before any mount goes in: a mount inside the
  // root must not change what a later source path names (a root of "/"
  // covers the host's /sys with its own).
  const sources = new Map<RootfsStep, number>();
  try {
    for (const step of plan.steps)
      if (step.op === "mount" && step.fstype === "" && !step.idmap && step.source.startsWith("/"))
        sources.set(
          step,
          forField(step.field, () => openPath(step.source, O.PATH, `open ${step.source}`)),
        );
    for (const step of plan.steps)
      forField(step.field, () => applyStep(rootFd, step, trees, sources.get(step)));
    if (plan.setupDev) forField("mounts (the default /dev)", () => setupDev(rootFd));
    for (const d of plan.devices) forField(d.field, () => createDevice(rootFd, d));
  } finally {
    for (const fd of sources.values()) sys.bunc_close(fd);
    sys.bunc_close(rootFd);
  }
  if (plan.hostname !== null) check(sys.bunc_sethostname(cstr(plan.hostname)), "hostname: sethostname");
  if (plan.domainname !== null)
    check(sys.bunc_setdomainname(cstr(plan.domainname)), "domainname: setdomainname");
  beforePivot();
  forField("root.path", () => (plan.noPivot ? moveRoot(rootfs) : pivotRoot(rootfs)));
  // Propagation applies to the current "/", so it is set again on the new one.
  if (plan.configuredPropagation !== null) {
    mount("", "/", "", plan.configuredPropagation, "", "linux.rootfsPropagation: set the propagation of /");
  }
}

export function finishRootfs(plan: InitPlan): void {
  for (const [i, p] of plan.readonlyPaths.entries())
    forField(`linux.readonlyPaths[${i}]`, () => readonlyPath(p));
  maskPaths(plan.maskedPaths);
  if (plan.readonlyRoot) forField("root.readonly", () => remountReadonly("/"));
}
