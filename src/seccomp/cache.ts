// Compiled filters, kept under the state root by the SHA-256 of everything
// that decides them (the profile, the machine, the bunc binary itself), so
// an engine that starts many containers with one profile compiles it once.
// The state root is a tmpfs on most hosts, gone at the next boot, so a
// cached filter is one this kernel has already taken.
//
// The cache is trusted only while nobody else could have written it: the
// directory and every file must be owned by bunc's own user and writable by
// no one else, files are opened without following symlinks, and entries are
// written whole (a temporary file renamed into place).
import {
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { constants } from "node:fs";
import type { Seccomp } from "../oci/config.ts";

const MAX_ENTRY = 1 << 20;

const safe = (st: { uid: number; mode: number }) =>
  st.uid === (process.geteuid?.() ?? 0) && (st.mode & 0o022) === 0;

/** Where the filters live, or null when that place cannot be trusted. */
function directory(root: string): string | null {
  const dir = `${root}/.seccomp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    return st.isDirectory() && safe(st) ? dir : null;
  } catch {
    return null;
  }
}

/** The cache key: a hash of the profile and of what compiles it. */
export function filterKey(s: Seccomp, machine: string): string {
  const exe = statSync(process.execPath);
  const h = new Bun.CryptoHasher("sha256");
  const text = JSON.stringify([s, machine, process.execPath, exe.ino, exe.size, exe.mtimeMs], (_k, v) =>
    typeof v === "bigint" ? `${v}n` : v,
  );
  h.update(text);
  return h.digest("hex");
}

/** A compiled filter: its program (struct sock_filter[], base64) and flags. */
export interface Entry {
  readonly program: string;
  readonly flags: number;
  readonly notify: boolean;
}

export function cachedFilter(root: string, key: string): Entry | null {
  const dir = directory(root);
  if (!dir) return null;
  let fd: number;
  try {
    fd = openSync(`${dir}/${key}`, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || !safe(st) || st.size > MAX_ENTRY) return null;
    return JSON.parse(readFileSync(fd, "utf8")) as Entry;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

export function cacheFilter(root: string, key: string, entry: Entry): void {
  const dir = directory(root);
  if (!dir) return;
  const tmp = `${dir}/.${key}.${process.pid}`;
  try {
    writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600, flag: "wx" });
    renameSync(tmp, `${dir}/${key}`);
  } catch {
    // A cache that cannot be written is only slower.
  }
}
