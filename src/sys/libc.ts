// The few calls the short verbs make beyond Node's fs, bound straight from
// the C library the process has loaded already: bunc's own C object comes
// from a sealed memfd, which costs ~0.6 ms a command to make and load, and
// a lock or a wait for a fifo needs nothing of it.
import { closeSync, writeSync } from "node:fs";
import { dlopen, FFIType, read } from "bun:ffi";

const { i32, ptr, u64 } = FFIType;
const EINTR = 4;
const POLLIN = 1;

const load = () =>
  dlopen("libc.so.6", {
    flock: { args: [i32, i32], returns: i32 },
    poll: { args: [ptr, u64, i32], returns: i32 },
    isatty: { args: [i32], returns: i32 },
    __errno_location: { args: [], returns: ptr },
  }).symbols;

let libc: ReturnType<typeof load> | undefined;

function errno(c: ReturnType<typeof load>): number {
  const at = c.__errno_location();
  return at === null ? 5 : read.i32(at, 0);
}

/** flock(2), again when a signal interrupts it: 0, or -errno. */
export function flock(fd: number, op: number): number {
  libc ??= load();
  for (;;) {
    if (libc.flock(fd, op) === 0) return 0;
    const e = errno(libc);
    if (e !== EINTR) return -e;
  }
}

/** 1 when fd is readable (or hung up), 0 on timeout or a signal, or -errno. */
export function pollIn(fd: number, timeoutMs: number): number {
  libc ??= load();
  // struct pollfd: int fd; short events; short revents.
  const p = new Int32Array(2);
  p[0] = fd;
  p[1] = POLLIN;
  const r = libc.poll(p, 1, timeoutMs);
  if (r >= 0) return r;
  const e = errno(libc);
  return e === EINTR ? 0 : -e;
}

/** isatty(3), without node:tty (whose import costs several ms of every command). */
export function isTerminal(fd: number): boolean {
  libc ??= load();
  return libc.isatty(fd) === 1;
}

const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const MFD_EXEC = 0x10;
const F_ADD_SEALS = 1033;
// F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE
const ALL_SEALS = 1 | 2 | 4 | 8;

const loadMemfd = () =>
  dlopen("libc.so.6", {
    memfd_create: { args: [ptr, FFIType.u32], returns: i32 },
    fcntl: { args: [i32, i32, i32], returns: i32 },
  }).symbols;

let memfdCalls: ReturnType<typeof loadMemfd> | undefined;

/**
 * A close-on-exec memfd holding `bytes`, sealed: no one (us included) can
 * change it any more, so what is executed or read from it is what we wrote.
 * `executable` asks for MFD_EXEC, without which a kernel with
 * vm.memfd_noexec set refuses to execute it (older kernels do not know the
 * flag: then without).
 */
export function memfdOf(name: string, bytes: Uint8Array, executable: boolean): number {
  memfdCalls ??= loadMemfd();
  const flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  const cname = Buffer.from(`${name}\0`);
  let fd = executable ? memfdCalls.memfd_create(cname, flags | MFD_EXEC) : -1;
  if (fd < 0) fd = memfdCalls.memfd_create(cname, flags);
  if (fd < 0) throw new Error(`memfd_create for ${name} failed`);
  try {
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
    if (memfdCalls.fcntl(fd, F_ADD_SEALS, ALL_SEALS) < 0) throw new Error(`cannot seal ${name}`);
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
