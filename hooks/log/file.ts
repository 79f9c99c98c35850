// The log plugin's file: appended to with O_APPEND, opened without
// following a symlink, rotated by size (file -> file.1 -> file.2 ...) under
// an flock, so that hooks of containers starting at once neither interleave
// records nor rotate twice.
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lstatSync,
  openSync,
  renameSync,
  writeSync,
} from "node:fs";
import { flock } from "../../src/sys/libc.ts";

const LOCK_EX = 2;

export interface Rotation {
  /** Bytes after which the file is rotated before the next record. */
  readonly maxSize: number;
  /** How many rotated files are kept. */
  readonly keep: number;
}

/** The file at path, locked; reopened while a rotation we waited for moved it away. */
function openLocked(path: string): number {
  const flags =
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  for (;;) {
    const fd = openSync(path, flags, 0o640);
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      throw new Error(`${path}: not a regular file`);
    }
    if (flock(fd, LOCK_EX) < 0) {
      closeSync(fd);
      throw new Error(`${path}: cannot lock it`);
    }
    const now = lstatSync(path, { throwIfNoEntry: false });
    if (now && now.ino === st.ino && now.dev === st.dev) return fd;
    closeSync(fd);
  }
}

function rotate(path: string, keep: number): void {
  for (let i = keep - 1; i >= 1; i--)
    if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
  renameSync(path, `${path}.1`);
}

export function appendRecord(path: string, line: string, r: Rotation): void {
  let fd = openLocked(path);
  try {
    const size = fstatSync(fd).size;
    if (size > 0 && size + Buffer.byteLength(line) > r.maxSize) {
      rotate(path, r.keep);
      closeSync(fd);
      fd = -1;
      fd = openLocked(path);
    }
    writeSync(fd, line);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
