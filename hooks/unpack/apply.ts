// Applies one layer's entries to an empty directory, the layer's own in the
// cache. Every path is resolved by the kernel inside that directory
// (RESOLVE_IN_ROOT) and every last component is made without following a
// symlink, so no entry can write outside it: not an absolute path, not
// `..`, not a file under a symlink, not a hardlink to an outside path. OCI
// whiteouts become overlayfs ones (a 0:0 character device, the opaque
// xattr), so the layers stack as overlayfs lower directories.
import { closeSync, writeSync } from "node:fs";
import { posix } from "node:path";
import { warn } from "../../src/diag.ts";
import { ERRNO, O, RESOLVE } from "../../src/sys/constants.ts";
import { check, SysError } from "../../src/sys/errors.ts";
import { ensureInRoot } from "../../src/sys/inroot.ts";
import { sys } from "../../src/sys/lib.ts";
import { cstr } from "../../src/sys/mem.ts";
import { type LayerEntry, readLayer } from "./layer-tar.ts";

const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const AT_REMOVEDIR = 0x200;
const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";

/** Container ids to host ids for a user namespace: [containerID, hostID, size] ranges. */
export interface IdShift {
  readonly uid: readonly (readonly [number, number, number])[];
  readonly gid: readonly (readonly [number, number, number])[];
}

// The character devices a container may have by default (runtime-spec's
// list): any other node in an image is left out.
const DEVICES = new Set(["1:3", "1:5", "1:7", "1:8", "1:9", "5:0", "5:1", "5:2"]);
// Extended attributes an image may set; the overlay's own (trusted.*) and
// LSM labels are the runtime's business.
const allowedXattr = (k: string) => k === "security.capability" || k.startsWith("user.");

export function mapId(ranges: IdShift["uid"], id: number, what: string, path: string): number {
  for (const [inside, outside, size] of ranges)
    if (id >= inside && id < inside + size) return outside + (id - inside);
  throw new Error(`${path}: ${what} ${id} is outside the container's user namespace mapping`);
}

export interface LayerStats {
  entries: number;
  skipped: number;
}

/**
 * opaque: the xattr that marks an opaque directory for overlayfs: its
 * trusted.* one, or user.* for a stack a user mounts (overlayfs's
 * userxattr), as setting trusted.* takes the host's CAP_SYS_ADMIN.
 */
export async function applyLayer(
  source: AsyncIterable<Buffer>,
  rootFd: number,
  shift: IdShift | null,
  opaque = "trusted.overlay.opaque",
): Promise<LayerStats> {
  const stats: LayerStats = { entries: 0, skipped: 0 };
  // Directory times go last: every entry made in a directory changes its mtime.
  const dirTimes: [string, readonly [number, number]][] = [];
  for await (const { entry, body } of readLayer(source)) {
    stats.entries++;
    const path = posix.normalize(`/${entry.path}`);
    if (path === "/") {
      if (entry.type === "dir") dirTimes.push(["/", entry.mtime]);
      continue;
    }
    const parent = posix.dirname(path);
    const base = posix.basename(path);
    const dir = ensureInRoot(rootFd, parent, "dir");
    try {
      if (base === OPAQUE) {
        setXattr(dir, "", opaque, Buffer.from("y"), path);
        continue;
      }
      if (base.startsWith(WHITEOUT)) {
        const name = base.slice(WHITEOUT.length);
        removeExisting(dir, name, path);
        check(sys.bunc_mknodat(dir, cstr(name), S_IFCHR, 0, 0), `${path}: make its whiteout`);
        continue;
      }
      if (!(await make(dir, base, path, entry, rootFd, body))) {
        stats.skipped++;
        continue;
      }
      const name = cstr(base);
      const uid = shift ? mapId(shift.uid, entry.uid, "uid", path) : entry.uid;
      const gid = shift ? mapId(shift.gid, entry.gid, "gid", path) : entry.gid;
      check(sys.bunc_fchownat(dir, name, uid, gid), `${path}: chown`);
      // After chown, which clears setuid bits and file capabilities.
      if (entry.type !== "symlink") check(sys.bunc_fchmodat(dir, name, entry.mode), `${path}: chmod`);
      for (const [k, v] of entry.xattrs) if (allowedXattr(k)) setXattr(dir, base, k, v, path);
      if (entry.type === "dir") dirTimes.push([path, entry.mtime]);
      else check(sys.bunc_utimensat(dir, name, entry.mtime[0], entry.mtime[1]), `${path}: set its times`);
    } catch (e) {
      throw e instanceof Error && e.message.startsWith(path)
        ? e
        : new Error(`${path}: ${(e as Error).message}`);
    } finally {
      sys.bunc_close(dir);
    }
  }
  for (const [path, [sec, nsec]] of dirTimes.reverse()) {
    const dir = ensureInRoot(rootFd, posix.dirname(path), "dir");
    try {
      const name = path === "/" ? "" : posix.basename(path);
      check(sys.bunc_utimensat(dir, cstr(name || "."), sec, nsec), `${path}: set its times`);
    } finally {
      sys.bunc_close(dir);
    }
  }
  return stats;
}

function setXattr(dir: number, name: string, key: string, value: Buffer, path: string): void {
  check(sys.bunc_setxattrat(dir, cstr(name || "."), cstr(key), value, value.length), `${path}: set ${key}`);
}

/** A later entry replaces an earlier one of the same layer; a directory stays for a directory. */
function removeExisting(dir: number, name: string, path: string, keepDir = false): void {
  const rc = sys.bunc_unlinkat(dir, cstr(name), 0);
  if (rc === 0 || rc === -ERRNO.ENOENT) return;
  if (rc === -21 /* EISDIR */) {
    if (keepDir) return;
    const rd = sys.bunc_unlinkat(dir, cstr(name), AT_REMOVEDIR);
    if (rd < 0) throw new SysError(-rd, `${path}: replace the directory there`);
    return;
  }
  throw new SysError(-rc, `${path}: replace what is there`);
}

/** Makes the entry's file, directory, link or node; false when it is left out. */
function make(
  dir: number,
  base: string,
  path: string,
  e: LayerEntry,
  rootFd: number,
  body: () => AsyncGenerator<Buffer>,
): boolean | Promise<boolean> {
  const name = cstr(base);
  switch (e.type) {
    case "dir": {
      removeExisting(dir, base, path, true);
      const rc = sys.bunc_mkdirat(dir, name, 0o700);
      if (rc < 0 && rc !== -ERRNO.EEXIST) throw new SysError(-rc, `${path}: mkdir`);
      return true;
    }
    case "file":
      removeExisting(dir, base, path);
      return writeFile(dir, base, path, body);
    case "symlink":
      removeExisting(dir, base, path);
      check(sys.bunc_symlinkat(cstr(e.linkpath), dir, name), `${path}: symlink`);
      return true;
    case "hardlink": {
      removeExisting(dir, base, path);
      const target = posix.normalize(`/${e.linkpath}`);
      const from = ensureInRoot(rootFd, posix.dirname(target), "dir");
      try {
        check(
          sys.bunc_linkat(from, cstr(posix.basename(target)), dir, name),
          `${path}: link to ${e.linkpath}`,
        );
      } finally {
        sys.bunc_close(from);
      }
      return true;
    }
    case "fifo":
      removeExisting(dir, base, path);
      check(sys.bunc_mknodat(dir, name, S_IFIFO | 0o600, 0, 0), `${path}: mkfifo`);
      return true;
    case "char":
    case "block":
      if (e.type === "block" || !DEVICES.has(`${e.devmajor}:${e.devminor}`)) {
        warn(
          `${path}: ${e.type} device ${e.devmajor}:${e.devminor} left out (no container may have it by default)`,
        );
        return false;
      }
      removeExisting(dir, base, path);
      check(sys.bunc_mknodat(dir, name, S_IFCHR | 0o600, e.devmajor, e.devminor), `${path}: mknod`);
      return true;
  }
}

async function writeFile(
  dir: number,
  base: string,
  path: string,
  body: () => AsyncGenerator<Buffer>,
): Promise<boolean> {
  const fd = sys.bunc_openat2(
    dir,
    cstr(base),
    O.WRONLY | O.CREAT | O.EXCL | O.CLOEXEC | O.NOFOLLOW,
    0o600,
    RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS,
  );
  check(fd, `${path}: create`);
  try {
    for await (const chunk of body()) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  return true;
}
