// maskedPaths and readonlyPaths, applied after pivot_root: a masked file is
// covered by /dev/null, a masked directory by an empty read-only tmpfs.
import { fstatSync } from "node:fs";
import { ERRNO, MOUNT_ATTR, makedev, MS, O } from "../sys/constants.ts";
import { check, forField } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { cstr } from "../sys/mem.ts";
import { fdPath, openInRoot, tryOpenInRoot } from "../sys/inroot.ts";
import { mount } from "./mount.ts";

/** The path's fd, or null when the container has no such path. */
function openOptional(path: string): number | null {
  // Symlinks are followed, inside the root only: the target is what gets masked.
  const fd = tryOpenInRoot(rootFd(), path, O.PATH);
  if (fd === -ERRNO.ENOENT) return null;
  return check(fd, `open ${path}`);
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
    throw new Error("/dev/null in the container is not the null device (1:3)");
  }
  return fd;
}

export function maskPaths(paths: readonly string[]): void {
  let nullFd = -1;
  try {
    paths.forEach((path, i) => {
      forField(`linux.maskedPaths[${i}]`, () => {
        const fd = openOptional(path);
        if (fd === null) return;
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
      });
    });
  } finally {
    if (nullFd >= 0) sys.bunc_close(nullFd);
  }
}

// Read-only through fds only: the path is looked up once, its mount tree
// cloned, made read-only (with everything below) and put back on the same
// fd, so a swapped symlink cannot send the remount elsewhere.
export function readonlyPath(path: string): void {
  const fd = openOptional(path);
  if (fd === null) return;
  try {
    const tree = check(sys.bunc_clone_tree(fd, 1), `clone the mount at ${path}`);
    try {
      check(sys.bunc_mount_setattr(tree, cstr(""), 1, MOUNT_ATTR.RDONLY, 0, 0), `make ${path} read-only`);
      check(sys.bunc_move_mount(tree, cstr(fdPath(fd))), `mount ${path} read-only`);
    } finally {
      sys.bunc_close(tree);
    }
  } finally {
    sys.bunc_close(fd);
  }
}
