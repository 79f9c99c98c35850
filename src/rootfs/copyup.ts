// tmpcopyup: the new tmpfs starts with a copy of the directory it covers.
// Entries are read with lstat and never followed: a symlink is copied as a
// symlink, so nothing outside the covered directory is read.
import { devMajor, devMinor, S_IFMT } from "../sys/constants.ts";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
  utimesSync,
} from "node:fs";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { cstr } from "../sys/mem.ts";

function copyEntry(from: string, to: string): void {
  const st = lstatSync(from);
  if (st.isDirectory()) {
    mkdirSync(to, { mode: 0o700 });
    copyChildren(from, to);
  } else if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(from), to);
  } else if (st.isFile()) {
    copyFileSync(from, to);
  } else {
    // Device nodes, fifos and sockets: the node itself, not its content.
    check(
      sys.bunc_mknodat(-100, cstr(to), st.mode & (S_IFMT | 0o7777), devMajor(st.rdev), devMinor(st.rdev)),
      `copy ${to}`,
    );
  }
  lchownSync(to, st.uid, st.gid);
  if (!st.isSymbolicLink()) {
    chmodSync(to, st.mode & 0o7777);
    utimesSync(to, st.atime, st.mtime);
  }
}

function copyChildren(from: string, to: string): void {
  for (const name of readdirSync(from)) copyEntry(`${from}/${name}`, `${to}/${name}`);
}

/**
 * Copies directory `from` into directory `to` with owners, modes and times.
 * Both are /proc/self/fd magic links, so the roots themselves are followed.
 */
export function copyTree(from: string, to: string): void {
  copyChildren(from, to);
  const st = statSync(from);
  chownSync(to, st.uid, st.gid);
  chmodSync(to, st.mode & 0o7777);
}
