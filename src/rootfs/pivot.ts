// Making the prepared rootfs the container's "/" (runc's pivot_root(".", ".")
// sequence: no temporary directory inside the rootfs is needed).
import { MNT_DETACH, MS, O } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { openPath } from "../sys/open.ts";
import { cstr } from "../sys/mem.ts";
import { mount } from "./mount.ts";

function openDir(path: string): number {
  return openPath(path, O.DIRECTORY | O.RDONLY);
}

export function pivotRoot(rootfs: string): void {
  const oldRoot = openDir("/");
  const newRoot = openDir(rootfs);
  try {
    check(sys.bunc_fchdir(newRoot), "chdir to the rootfs");
    check(sys.bunc_pivot_root(cstr("."), cstr(".")), "pivot_root");
    // The old root now sits on top of "/": detach it without letting the
    // unmount propagate to the host.
    check(sys.bunc_fchdir(oldRoot), "chdir to the old root");
    mount("", ".", "", MS.SLAVE | MS.REC, "", "make the old root a slave");
    check(sys.bunc_umount(cstr("."), MNT_DETACH), "unmount the old root");
    check(sys.bunc_fchdir(newRoot), "chdir to the new root");
  } finally {
    sys.bunc_close(oldRoot);
    sys.bunc_close(newRoot);
  }
}

/** --no-pivot: the rootfs mount moved onto "/" and chrooted into, as runc does. */
export function moveRoot(rootfs: string): void {
  const newRoot = openDir(rootfs);
  try {
    check(sys.bunc_fchdir(newRoot), "chdir to the rootfs");
    mount(rootfs, "/", "", MS.MOVE, "", "move the rootfs onto /");
    check(sys.bunc_chroot(cstr(".")), "chroot into the rootfs");
    check(sys.bunc_fchdir(newRoot), "chdir to the new root");
  } finally {
    sys.bunc_close(newRoot);
  }
}
