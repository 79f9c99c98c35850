// maskedPaths and readonlyPaths, applied after pivot_root: a masked file is
// covered by /dev/null, a masked directory by an empty read-only tmpfs.
import { fstatSync } from "node:fs";
import { ERRNO, makedev, MS, O } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { fdPath, openInRoot } from "./inroot.ts";
import { mount, remountReadonly } from "./mount.ts";

function openOptional(path: string): number | null {
  const fd = sysOpen(path);
  if (fd === -ERRNO.ENOENT) return null;
  return check(fd, `open ${path}`);
}

function sysOpen(path: string): number {
  try {
    // Symlinks are followed, inside the root only: the target is what gets masked.
    return openInRoot(rootFd(), path, O.PATH);
  } catch (e) {
    const errno = (e as { errno?: number }).errno;
    if (errno === ERRNO.ENOENT) return -ERRNO.ENOENT;
    throw e;
  }
}

let root = -1;
function rootFd(): number {
  if (root < 0) root = openInRoot(-100, "/", O.PATH | O.DIRECTORY);
  return root;
}

/** /dev/null, checked to be the real character device 1:3 before it covers anything. */
function devNull(): number {
  const fd = openInRoot(rootFd(), "/dev/null", O.PATH | O.NOFOLLOW);
  const st = fstatSync(fd);
  if (!st.isCharacterDevice() || st.rdev !== makedev(1, 3)) {
    sys.bunc_close(fd);
    throw new Error("maskedPaths: /dev/null in the container is not the null device (1:3)");
  }
  return fd;
}

export function maskPaths(paths: readonly string[]): void {
  let nullFd = -1;
  try {
    for (const path of paths) {
      const fd = openOptional(path);
      if (fd === null) continue;
      try {
        if (fstatSync(fd).isDirectory()) {
          mount("tmpfs", fdPath(fd), "tmpfs", MS.RDONLY, "", `mask ${path}`);
        } else {
          if (nullFd < 0) nullFd = devNull();
          mount(fdPath(nullFd), fdPath(fd), "", MS.BIND, "", `mask ${path}`);
        }
      } finally {
        sys.bunc_close(fd);
      }
    }
  } finally {
    if (nullFd >= 0) sys.bunc_close(nullFd);
  }
}

export function readonlyPaths(paths: readonly string[]): void {
  for (const path of paths) {
    const fd = openOptional(path);
    if (fd === null) continue;
    try {
      mount(fdPath(fd), fdPath(fd), "", MS.BIND | MS.REC, "", `bind ${path}`);
    } finally {
      sys.bunc_close(fd);
    }
    const again = openInRoot(rootFd(), path, O.PATH);
    try {
      remountReadonly(fdPath(again));
    } finally {
      sys.bunc_close(again);
    }
  }
}
