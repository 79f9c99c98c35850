// The few calls the short verbs make beyond Node's fs, bound straight from
// the C library the process has loaded already: bunc's own C object comes
// from a sealed memfd, which costs ~0.6 ms a command to make and load, and
// a lock needs nothing of it.
import { dlopen, FFIType, read } from "bun:ffi";

const { i32, ptr } = FFIType;

const load = () =>
  dlopen("libc.so.6", {
    flock: { args: [i32, i32], returns: i32 },
    __errno_location: { args: [], returns: ptr },
  }).symbols;

let libc: ReturnType<typeof load> | undefined;

/** flock(2): 0, or -errno. */
export function flock(fd: number, op: number): number {
  libc ??= load();
  if (libc.flock(fd, op) === 0) return 0;
  const at = libc.__errno_location();
  return at === null ? -5 : -read.i32(at, 0);
}
