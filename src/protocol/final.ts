// Packs the final C act's request: cgroup join, limits, credentials, execve.
// The init makes the act for the container's process; `exec` hands the same
// request to the C act that starts a process in a running container.
import { MAX_CPUS, MAX_NODES, type ProcessPlan } from "./plan.ts";
import { FINAL, flatten, keepAlive, NONE, pack, packArray, RLIMIT } from "../sys/abi.ts";
import { memfdOf } from "../sys/libc.ts";
import { sys } from "../sys/lib.ts";
import { CStrings, cstr, ErrBuf } from "../sys/mem.ts";

export interface FinalArgs {
  readonly process: ProcessPlan;
  /** A socket connected to the seccomp agent, for SCMP_ACT_NOTIFY. */
  readonly seccompListener: number | null;
  readonly path: string;
  readonly cgroupFds: readonly number[];
  readonly newCgroupns: boolean;
  readonly capLast: number;
  readonly ttyFd: number | null;
  /** fds below this stay open across execve: stdio, and those --preserve-fds passes. */
  readonly keepFds?: number;
}

/** struct sched_attr (SCHED_ATTR_SIZE_VER1, 56 bytes). */
function schedAttr([
  policy,
  flags,
  nice,
  priority,
  runtime,
  deadline,
  period,
]: readonly string[]): Uint8Array {
  const b = Buffer.alloc(56);
  b.writeUInt32LE(56, 0);
  b.writeUInt32LE(Number(policy), 4);
  b.writeBigUInt64LE(BigInt(flags ?? 0), 8);
  b.writeInt32LE(Number(nice), 16);
  b.writeUInt32LE(Number(priority), 20);
  b.writeBigUInt64LE(BigInt(runtime ?? 0), 24);
  b.writeBigUInt64LE(BigInt(deadline ?? 0), 32);
  b.writeBigUInt64LE(BigInt(period ?? 0), 40);
  return b;
}

function bitMask(bits: readonly number[], size: number): Uint8Array {
  const mask = new Uint8Array(size / 8);
  for (const b of bits) mask[b >> 3] = (mask[b >> 3] ?? 0) | (1 << (b & 7));
  return mask;
}

const cpuMask = (cpus: readonly number[]) => bitMask(cpus, MAX_CPUS);

/** The request's fields, pointing at the buffers they need and at `err`, where the act's error comes back. */
function finalValues(a: FinalArgs, err: ErrBuf): Parameters<typeof pack<typeof FINAL>>[1] {
  const p = a.process;
  const [bounding, effective, permitted, inheritable, ambient] = p.caps.map(BigInt);
  const groups = new Uint32Array(p.groups.length || 1);
  groups.set(p.groups);
  const cgroupFds = new Int32Array(a.cgroupFds.length || 1);
  cgroupFds.set(a.cgroupFds);
  const nodes = p.mempolicy?.nodes.length ? bitMask(p.mempolicy.nodes, MAX_NODES) : null;
  const seccomp = p.seccomp;
  const filter = seccomp ? Buffer.from(seccomp.filter, "base64") : null;
  return {
    uid: p.uid,
    gid: p.gid,
    groups,
    ngroups: p.groups.length,
    cap_bounding: bounding ?? 0n,
    cap_effective: effective ?? 0n,
    cap_permitted: permitted ?? 0n,
    cap_inheritable: inheritable ?? 0n,
    cap_ambient: ambient ?? 0n,
    cap_last: a.capLast,
    no_new_privs: p.noNewPrivileges,
    rlimits: packArray(
      RLIMIT,
      p.rlimits.map(([type, soft, hard]) => ({ type, soft: BigInt(soft), hard: BigInt(hard) })),
    ),
    nrlimits: p.rlimits.length,
    cgroup_fds: cgroupFds,
    ncgroup_fds: a.cgroupFds.length,
    new_cgroupns: a.newCgroupns,
    umask: p.umask ?? NONE,
    tty_fd: a.ttyFd ?? NONE,
    keep_fds: a.keepFds ?? 3,
    cwd: cstr(p.cwd),
    path: cstr(a.path),
    argv: new CStrings(p.args),
    envp: new CStrings(p.env),
    errbuf: err.buf,
    errlen: err.len,
    personality: p.personality ?? NONE,
    ioprio: p.ioprio ?? NONE,
    sched_attr: p.sched ? schedAttr(p.sched) : null,
    cpus_initial: p.cpusInitial ? cpuMask(p.cpusInitial) : null,
    cpus_final: p.cpusFinal ? cpuMask(p.cpusFinal) : null,
    cpus_size: MAX_CPUS / 8,
    keyring: p.keyring === null ? null : cstr(p.keyring),
    mpol_mode: p.mempolicy === null ? NONE : p.mempolicy.mode,
    mpol_nodes: nodes,
    // The kernel reads maxnode - 1 bits.
    mpol_maxnode: nodes ? MAX_NODES + 1 : 0,
    seccomp_prog: filter,
    seccomp_len: filter ? filter.length / 8 : 0,
    seccomp_flags: seccomp?.flags ?? 0,
    seccomp_early: seccomp?.early ?? false,
    seccomp_listener: a.seccompListener ?? NONE,
    seccomp_state: seccomp?.notify ? cstr(JSON.stringify(seccomp.notify.state)) : null,
  };
}

/** The request, with the buffer its error comes back in; keep both alive until the act is done. */
export function packFinal(a: FinalArgs): { req: ReturnType<typeof pack>; err: ErrBuf } {
  const err = new ErrBuf();
  return { req: pack(FINAL, finalValues(a, err)), err };
}

/**
 * Hands the rest to the waiter (ffi/waiter/), executed from `waiterFd`: it
 * waits for `start` on the fifo below `stateDir`, then makes the final act
 * from the same request, laid out flat in a sealed memfd. The fds the act
 * uses stay open across the exec. Returns only on failure, with the reason;
 * nothing is lost then: the caller can still wait itself.
 */
export function execWaiter(a: FinalArgs, stateDir: number, waiterFd: number): string {
  const err = new ErrBuf();
  const blob = memfdOf("bunc-final", flatten(FINAL, finalValues(a, err)), false);
  const keep = [
    ...a.cgroupFds,
    ...(a.ttyFd === null ? [] : [a.ttyFd]),
    ...(a.seccompListener === null ? [] : [a.seccompListener]),
  ];
  const fds = Int32Array.from(keep.length ? keep : [-1]);
  sys.bunc_exec_waiter(waiterFd, blob, stateDir, a.keepFds ?? 3, fds, keep.length, err.buf, err.len);
  keepAlive(fds);
  sys.bunc_close(blob);
  return err.text();
}

/** Returns only on failure, with the reason. */
export function execFinal(a: FinalArgs): string {
  const { req, err } = packFinal(a);
  sys.bunc_exec_final(req.bytes);
  keepAlive(req);
  return err.text();
}
