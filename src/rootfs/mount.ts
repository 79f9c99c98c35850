// Carrying out the planned mounts, remounts and symlinks inside the root.
import { fstatSync, statSync } from "node:fs";
import { posix } from "node:path";
import type { RootfsStep } from "../protocol/plan.ts";
import { ERRNO, MS } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { cstr } from "../sys/mem.ts";
import { copyTree } from "./copyup.ts";
import { ensureInRoot, fdPath } from "../sys/inroot.ts";

export function mount(
  source: string,
  target: string,
  fstype: string,
  flags: number,
  data: string,
  what: string,
): void {
  check(sys.bunc_mount(cstr(source), cstr(target), cstr(fstype), flags, cstr(data)), what);
}

// A mount over the root itself (say /proc -> / in the image) would become
// the container's root after pivot_root.
function refuseRoot(rootFd: number, target: string, name: string): void {
  const [root, at] = [fstatSync(rootFd), statSync(target)];
  if (root.dev === at.dev && root.ino === at.ino) {
    throw new Error(`${name} resolves to the root of the container; refusing to mount over it`);
  }
}

const ATIME = MS.NOATIME | MS.RELATIME | MS.STRICTATIME;
const KEPT = MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NODIRATIME;

// A bind remount replaces the mount's flags. In a user namespace the kernel
// refuses to drop flags the host set (nosuid, nodev, noexec, atime), so the
// ones the mount has are kept unless the config clears them.
function withLockedFlags(at: string, flags: number, clear: number): number {
  if (!(flags & MS.BIND)) return flags;
  const current = check(sys.bunc_mount_flags(cstr(at)), `statvfs ${at}`);
  let out = flags | (current & KEPT & ~clear);
  if (!(flags & ATIME)) out |= current & ATIME & ~clear;
  return out;
}

function attachTree(tree: number | undefined, at: string, what: string): void {
  if (tree === undefined) throw new Error(`${what}: the id-mapped mount did not arrive`);
  try {
    check(sys.bunc_move_mount(tree, cstr(at)), what);
  } finally {
    sys.bunc_close(tree);
  }
}

function withTarget(rootFd: number, target: string, kind: "dir" | "file", act: (path: string) => void): void {
  const fd = ensureInRoot(rootFd, target, kind);
  try {
    act(fdPath(fd));
  } finally {
    sys.bunc_close(fd);
  }
}

/** sourceFd: the bind source, opened before the mounts began. */
export function applyStep(
  rootFd: number,
  step: RootfsStep,
  trees: ReadonlyMap<string, number>,
  sourceFd?: number,
): void {
  switch (step.op) {
    case "mount":
      withTarget(rootFd, step.target, step.file ? "file" : "dir", (covered) => {
        refuseRoot(rootFd, covered, step.target);
        const what = `mount ${step.fstype || "bind"} on ${step.target}`;
        if (step.idmap) attachTree(trees.get(step.field), covered, what);
        else
          mount(
            sourceFd === undefined ? step.source : fdPath(sourceFd),
            covered,
            step.fstype,
            step.flags,
            step.data,
            what,
          );
        // The fd still reaches the directory the new mount covers.
        if (step.copyUp) withTarget(rootFd, step.target, "dir", (fresh) => copyTree(covered, fresh));
      });
      return;
    case "remount":
      withTarget(rootFd, step.target, "dir", (at) =>
        mount("", at, "", withLockedFlags(at, step.flags, step.clear ?? 0), "", `remount ${step.target}`),
      );
      return;
    case "setattr":
      withTarget(rootFd, step.target, "dir", (at) =>
        check(
          sys.bunc_mount_setattr(-100, cstr(at), 1, step.set, step.clr, 0),
          `set attributes of ${step.target} and below`,
        ),
      );
      return;
    case "symlink":
      withTarget(rootFd, posix.dirname(step.path), "dir", (at) => {
        const rc = sys.bunc_symlinkat(cstr(step.target), -100, cstr(`${at}/${posix.basename(step.path)}`));
        if (rc !== -ERRNO.EEXIST) check(rc, `symlink ${step.path}`);
      });
      return;
  }
}

/** Bind-remounts a mount read-only, keeping the flags it already has. */
export function remountReadonly(path: string): void {
  const current = check(sys.bunc_mount_flags(cstr(path)), `statvfs ${path}`);
  mount("", path, "", current | MS.BIND | MS.REMOUNT | MS.RDONLY, "", `remount ${path} read-only`);
}
