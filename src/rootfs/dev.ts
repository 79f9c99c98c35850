// The default /dev of a container: the device nodes and links every OCI
// runtime provides when /dev is not bind-mounted from the host.
import { existsSync, statSync } from "node:fs";
import { posix } from "node:path";
import type { InitPlan } from "../protocol/plan.ts";
import { ERRNO, makedev, MS, O, RESOLVE, S_IFCHR, S_IFMT } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { cstr } from "../sys/mem.ts";
import { ensureInRoot, fdPath } from "../sys/inroot.ts";
import { mount } from "./mount.ts";

const NODES: readonly (readonly [string, number, number])[] = [
  ["null", 1, 3],
  ["zero", 1, 5],
  ["full", 1, 7],
  ["random", 1, 8],
  ["urandom", 1, 9],
  ["tty", 5, 0],
];

const LINKS: readonly (readonly [string, string])[] = [
  ["fd", "/proc/self/fd"],
  ["stdin", "/proc/self/fd/0"],
  ["stdout", "/proc/self/fd/1"],
  ["stderr", "/proc/self/fd/2"],
  ["ptmx", "pts/ptmx"],
];

export function setupDev(rootFd: number): void {
  const dev = ensureInRoot(rootFd, "/dev", "dir");
  try {
    for (const [name, major, minor] of NODES)
      makeNode(dev, name, `/dev/${name}`, S_IFCHR | 0o666, major, minor);
    const links = existsSync("/proc/kcore") ? [...LINKS, ["core", "/proc/kcore"] as const] : LINKS;
    for (const [name, target] of links) {
      const rc = sys.bunc_symlinkat(cstr(target), dev, cstr(name));
      if (rc !== -ERRNO.EEXIST) check(rc, `symlink /dev/${name}`);
    }
  } finally {
    sys.bunc_close(dev);
  }
}

/**
 * mknod of a device node under dir; where mknod is not permitted (a user
 * namespace) the host's node at hostPath is bound there instead, checked to
 * be the same device.
 */
function makeNode(
  dir: number,
  name: string,
  hostPath: string,
  mode: number,
  major: number,
  minor: number,
): void {
  const rc = sys.bunc_mknodat(dir, cstr(name), mode, major, minor);
  if (rc === 0 || rc === -ERRNO.EEXIST) return;
  if (rc !== -ERRNO.EPERM) check(rc, `mknod ${hostPath}`);
  const host = statSync(hostPath, { throwIfNoEntry: false });
  if (!host || (host.mode & S_IFMT) !== (mode & S_IFMT) || host.rdev !== makedev(major, minor)) {
    throw new Error(`mknod ${hostPath} is not permitted here and the host has no such device to bind`);
  }
  const made = sys.bunc_openat2(dir, cstr(name), O.CREAT | O.WRONLY | O.CLOEXEC, 0o600, RESOLVE.BENEATH);
  if (made !== -ERRNO.EEXIST) sys.bunc_close(check(made, `create ${hostPath}`));
  const fd = check(
    sys.bunc_openat2(dir, cstr(name), O.PATH | O.CLOEXEC, 0, RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS),
    `open ${hostPath}`,
  );
  try {
    mount(hostPath, fdPath(fd), "", MS.BIND, "", `bind ${hostPath} from the host`);
  } finally {
    sys.bunc_close(fd);
  }
}

/** A device of linux.devices, created inside the root (after the mounts, so on the /dev tmpfs). */
export function createDevice(rootFd: number, d: InitPlan["devices"][number]): void {
  const dir = ensureInRoot(rootFd, posix.dirname(d.path), "dir");
  const name = cstr(posix.basename(d.path));
  try {
    // Whatever the image had there (a file, a stale node) gives way.
    const gone = sys.bunc_unlinkat(dir, name, 0);
    if (gone !== -ERRNO.ENOENT) check(gone, `replace ${d.path}`);
    makeNode(dir, posix.basename(d.path), d.path, d.mode, d.major, d.minor);
    const owned = sys.bunc_fchownat(dir, name, d.uid, d.gid);
    // A bound host node keeps its owner: the namespace cannot change it.
    if (owned !== -ERRNO.EPERM && owned !== -ERRNO.EINVAL) check(owned, `chown ${d.path}`);
  } finally {
    sys.bunc_close(dir);
  }
}
