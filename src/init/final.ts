// Packs the final C act's request: cgroup join, limits, credentials, execve.
import { MAX_CPUS, MAX_NODES, type ProcessPlan } from "../protocol/plan.ts";
import { sys } from "../sys/lib.ts";
import { addr, CStrings, cstr, ERRLEN, errText } from "../sys/mem.ts";

const NONE = 0xffffffffffffffffn;

export interface FinalArgs {
  readonly process: ProcessPlan;
  readonly path: string;
  readonly cgroupFds: readonly number[];
  readonly newCgroupns: boolean;
  readonly capLast: number;
  readonly ttyFd: number | null;
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

/** Returns only on failure, with the reason. */
export function execFinal(a: FinalArgs): string {
  const p = a.process;
  const groups = new Uint32Array(p.groups.length || 1);
  groups.set(p.groups);
  const rl = new BigUint64Array(p.rlimits.length * 3 || 1);
  p.rlimits.forEach(([type, soft, hard], i) => {
    rl.set([BigInt(type), BigInt(soft), BigInt(hard)], i * 3);
  });
  const cgFds = new Int32Array(a.cgroupFds.length || 1);
  cgFds.set(a.cgroupFds);
  const cwd = cstr(p.cwd);
  const keyring = p.keyring === null ? null : cstr(p.keyring);
  const path = cstr(a.path);
  const argv = new CStrings(p.args);
  const envp = new CStrings(p.env);
  const err = Buffer.alloc(ERRLEN);
  const sched = p.sched ? schedAttr(p.sched) : null;
  const cpusInitial = p.cpusInitial ? cpuMask(p.cpusInitial) : null;
  const cpusFinal = p.cpusFinal ? cpuMask(p.cpusFinal) : null;
  const nodes = p.mempolicy?.nodes.length ? bitMask(p.mempolicy.nodes, MAX_NODES) : null;
  const req = new BigUint64Array([
    BigInt(p.uid),
    BigInt(p.gid),
    addr(groups),
    BigInt(p.groups.length),
    ...p.caps.map(BigInt),
    BigInt(a.capLast),
    p.noNewPrivileges ? 1n : 0n,
    addr(rl),
    BigInt(p.rlimits.length),
    addr(cgFds),
    BigInt(a.cgroupFds.length),
    a.newCgroupns ? 1n : 0n,
    p.umask === null ? NONE : BigInt(p.umask),
    a.ttyFd === null ? NONE : BigInt(a.ttyFd),
    3n,
    addr(cwd),
    addr(path),
    argv.address,
    envp.address,
    addr(err),
    p.personality === null ? NONE : BigInt(p.personality),
    p.ioprio === null ? NONE : BigInt(p.ioprio),
    sched ? addr(sched) : 0n,
    cpusInitial ? addr(cpusInitial) : 0n,
    cpusFinal ? addr(cpusFinal) : 0n,
    BigInt(MAX_CPUS / 8),
    keyring ? addr(keyring) : 0n,
    p.mempolicy === null ? NONE : BigInt(p.mempolicy.mode),
    nodes ? addr(nodes) : 0n,
    // The kernel reads maxnode - 1 bits.
    nodes ? BigInt(MAX_NODES + 1) : 0n,
  ]);
  sys.bunc_exec_final(req);
  return errText(err);
}
