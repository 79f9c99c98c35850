// The default /dev of a container: the device nodes and links every OCI
// runtime provides when /dev is not bind-mounted from the host.
import { existsSync } from "node:fs";
import { posix } from "node:path";
import type { InitPlan } from "../init/plan.ts";
import { S_IFCHR } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { cstr } from "../sys/mem.ts";
import { ensureInRoot } from "./inroot.ts";

const EEXIST = 17;

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
    for (const [name, major, minor] of NODES) {
      const rc = sys.bunc_mknodat(dev, cstr(name), S_IFCHR | 0o666, major, minor);
      if (rc !== -EEXIST) check(rc, `mknod /dev/${name}`);
    }
    const links = existsSync("/proc/kcore") ? [...LINKS, ["core", "/proc/kcore"] as const] : LINKS;
    for (const [name, target] of links) {
      const rc = sys.bunc_symlinkat(cstr(target), dev, cstr(name));
      if (rc !== -EEXIST) check(rc, `symlink /dev/${name}`);
    }
  } finally {
    sys.bunc_close(dev);
  }
}

/** linux.devices, created inside the root (after the mounts, so on the /dev tmpfs). */
export function createDevices(rootFd: number, devices: InitPlan["devices"]): void {
  for (const d of devices) {
    const dir = ensureInRoot(rootFd, posix.dirname(d.path), "dir");
    const name = cstr(posix.basename(d.path));
    try {
      let rc = sys.bunc_mknodat(dir, name, d.mode, d.major, d.minor);
      if (rc === -EEXIST) {
        // Whatever the image had there (a file, a stale node) gives way.
        check(sys.bunc_unlinkat(dir, name, 0), `replace ${d.path}`);
        rc = sys.bunc_mknodat(dir, name, d.mode, d.major, d.minor);
      }
      check(rc, `mknod ${d.path}`);
      check(sys.bunc_fchownat(dir, name, d.uid, d.gid), `chown ${d.path}`);
    } finally {
      sys.bunc_close(dir);
    }
  }
}
