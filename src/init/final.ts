// Packs the final C act's request: cgroup join, limits, credentials, execve.
import type { ProcessPlan } from "./plan.ts";
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
  const path = cstr(a.path);
  const argv = new CStrings(p.args);
  const envp = new CStrings(p.env);
  const err = Buffer.alloc(ERRLEN);
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
  ]);
  sys.bunc_exec_final(req);
  return errText(err);
}
