// Loads the C object (ffi/) from a sealed memfd: never from a path in a
// shared temp dir, where Bun's default extraction would let a local user
// plant a library of their own.
import { readFileSync } from "node:fs";
import { dlopen, FFIType } from "bun:ffi";
import libPath from "../../build/libbunc.so" with { type: "file" };
import { memfdOf } from "./libc.ts";
import { checkObject } from "./target.ts";

const { i32, i64, u32, u64, ptr, cstring } = FFIType;

// Every function ffi/bunc.h declares, with its argument types
// (test/unit/abi.test.ts checks the two agree).
export const symbols = {
  bunc_spawn: { args: [ptr, ptr], returns: i32 },
  bunc_wait_start: { args: [i32, ptr, u64], returns: i32 },
  bunc_exec_final: { args: [ptr], returns: i32 },
  bunc_exec_waiter: { args: [i32, i32, i32, i32, ptr, u64, ptr, u64], returns: i32 },
  bunc_forward_signals: { args: [i32], returns: FFIType.void },
  bunc_wait_forward: { args: [i32, ptr], returns: i32 },
  bunc_exec_process: { args: [ptr, ptr, u64, FFIType.i64, i32, ptr, ptr], returns: i32 },
  bunc_run_hook: { args: [ptr, ptr, ptr, ptr, ptr, u64, i32, ptr, ptr, u64], returns: i32 },
  bunc_seccomp_check: { args: [ptr, u32, u32, ptr, u64], returns: i32 },
  bunc_pty_open: { args: [ptr, ptr, ptr, u64], returns: i32 },
  bunc_send_fd: { args: [i32, i32], returns: i32 },
  bunc_recv_fd: { args: [i32], returns: i32 },
  bunc_seal_self: { args: [ptr, u64], returns: i32 },
  bunc_mount: { args: [ptr, ptr, ptr, u64, ptr], returns: i32 },
  bunc_umount: { args: [ptr, i32], returns: i32 },
  bunc_pivot_root: { args: [ptr, ptr], returns: i32 },
  bunc_openat2: { args: [i32, ptr, u64, u64, u64], returns: i32 },
  bunc_mkdirat: { args: [i32, ptr, u32], returns: i32 },
  bunc_mknodat: { args: [i32, ptr, u32, u32, u32], returns: i32 },
  bunc_symlinkat: { args: [ptr, i32, ptr], returns: i32 },
  bunc_fchownat: { args: [i32, ptr, u32, u32], returns: i32 },
  bunc_mkfifo: { args: [ptr, u32], returns: i32 },
  bunc_sethostname: { args: [ptr], returns: i32 },
  bunc_setdomainname: { args: [ptr], returns: i32 },
  bunc_set_dumpable: { args: [i32], returns: i32 },
  bunc_socketpair: { args: [ptr], returns: i32 },
  bunc_connect_unix: { args: [ptr], returns: i32 },
  bunc_send_dgram: { args: [ptr, ptr, u64], returns: i32 },
  bunc_bind_dgram: { args: [ptr, u32], returns: i32 },
  bunc_netlink_socket: { args: [i32, i32], returns: i32 },
  bunc_linkat: { args: [i32, ptr, i32, ptr], returns: i32 },
  bunc_fchmodat: { args: [i32, ptr, u32], returns: i32 },
  bunc_utimensat: { args: [i32, ptr, i64, i64], returns: i32 },
  bunc_setxattrat: { args: [i32, ptr, ptr, ptr, u64], returns: i32 },
  bunc_kill: { args: [i32, i32], returns: i32 },
  bunc_reap: { args: [i32, ptr], returns: i32 },
  bunc_close: { args: [i32], returns: i32 },
  bunc_dup2: { args: [i32, i32], returns: i32 },
  bunc_dup: { args: [i32], returns: i32 },
  bunc_loopback_up: { args: [], returns: i32 },
  bunc_fchdir: { args: [i32], returns: i32 },
  bunc_chroot: { args: [ptr], returns: i32 },
  bunc_mount_flags: { args: [ptr], returns: i32 },
  bunc_set_winsize: { args: [i32, u32, u32], returns: i32 },
  bunc_get_winsize: { args: [i32, ptr], returns: i32 },
  bunc_ns_type: { args: [i32], returns: i32 },
  bunc_bpf: { args: [i32, ptr, u32], returns: i32 },
  bunc_getrlimit: { args: [i32, ptr], returns: i32 },
  bunc_unlinkat: { args: [i32, ptr, i32], returns: i32 },
  bunc_renameat2: { args: [i32, ptr, i32, ptr, u32], returns: i32 },
  bunc_mount_setattr: { args: [i32, ptr, i32, u64, u64, u64], returns: i32 },
  bunc_fs_magic: { args: [i32], returns: FFIType.i64_fast },
  bunc_userns_fd: { args: [ptr, ptr, ptr, u64], returns: i32 },
  bunc_idmapped_tree: { args: [ptr, i32, i32, ptr, u64], returns: i32 },
  bunc_move_mount: { args: [i32, ptr], returns: i32 },
  bunc_clone_tree: { args: [i32, i32], returns: i32 },
  bunc_strerror: { args: [i32], returns: cstring },
} as const;

let memfd = -1;

/** The sealed memfd's path, made on first use (the init adopts the runtime's). */
function libraryPath(): string {
  if (memfd < 0) {
    const bytes = readFileSync(libPath);
    checkObject(bytes);
    // The memfd stays open: glibc caches dlopen by path, and a reused fd
    // number would otherwise hand back a stale library. The enter stage of
    // a container with a user namespace preloads it from here too.
    memfd = memfdOf("bunc", bytes, false);
  }
  return `/proc/self/fd/${memfd}`;
}

type Symbols = ReturnType<typeof dlopen<typeof symbols>>["symbols"];
type Name = keyof typeof symbols;
const bound: Partial<Record<Name, unknown>> = {};

/**
 * One function of the C object. Each is bound on first use, alone: Bun
 * compiles a trampoline per bound symbol, and a verb uses a handful of the
 * object's functions (binding all of them cost ~1.5 ms a command).
 */
function bind(name: Name): unknown {
  if (!(name in bound)) {
    const one = { [name]: symbols[name] } as Pick<typeof symbols, typeof name>;
    bound[name] = dlopen(libraryPath(), one).symbols[name];
  }
  return bound[name];
}

/** The init: load the C object from the sealed memfd the runtime passed at fd, not from a copy of our own. */
export function adoptLibrary(fd: number): void {
  memfd = fd;
}

/** The sealed memfd holding the C object (made if need be). */
export function libFd(): number {
  libraryPath();
  return memfd;
}

// Bound on first use: `state` and `list` never make a system call of ours.
export const sys: Symbols = new Proxy({} as Symbols, {
  get: (_, name) =>
    typeof name === "string" && Object.hasOwn(symbols, name) ? bind(name as Name) : undefined,
});
