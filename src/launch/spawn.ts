// Packs the spawn act's request and runs it: clone with the namespace flags,
// join namespaces by fd, re-execute our own sealed binary as `init`.
import { INIT_CHANNEL_FD, INIT_CONSOLE_FD } from "../protocol/plan.ts";
import { SysError } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { addr, CStrings, cstr, ERRLEN, errText } from "../sys/mem.ts";
import type { NamespacePlan } from "../plan/namespaces.ts";

let sealedSelf = -1;

// The binary is executed through a read-only detached mount of itself, so a
// container process can never reopen it for writing (CVE-2019-5736).
function sealedExe(): number {
  if (sealedSelf < 0) {
    const err = Buffer.alloc(ERRLEN);
    sealedSelf = sys.bunc_seal_self(err);
    if (sealedSelf < 0) throw new Error(`cannot seal the runtime binary: ${errText(err)}`);
  }
  return sealedSelf;
}

// A compiled bunc is its own interpreter; from source, Bun needs the script.
function initArgv(): string[] {
  const compiled = process.argv[1]?.startsWith("/$bunfs/") ?? false;
  return compiled ? ["bunc", "init"] : ["bun", Bun.main, "init"];
}

export interface SpawnRequest {
  readonly namespaces: NamespacePlan;
  readonly channelFd: number;
  readonly consoleFd: number | null;
  /** A cgroup2 directory fd to start the init in. */
  readonly cgroupFd: number | null;
}

/** Returns the init's pid once it has exec'd. */
export function spawnInit(req: SpawnRequest): number {
  const joins = new Int32Array(Math.max(2, req.namespaces.joins.length * 2));
  req.namespaces.joins.forEach((j, i) => {
    joins.set([j.fd, j.type], i * 2);
  });
  const map = [req.channelFd, INIT_CHANNEL_FD];
  if (req.consoleFd !== null) map.push(req.consoleFd, INIT_CONSOLE_FD);
  const fdmap = new Int32Array(map);
  const argv = new CStrings(initArgv());
  // An explicit, empty environment: BUN_OPTIONS and the like from the
  // caller's environment must not reach a process that runs as root.
  const envp = new CStrings([]);
  const err = Buffer.alloc(ERRLEN);
  const uidMap = req.namespaces.userns ? cstr(req.namespaces.userns.uidMap) : null;
  const gidMap = req.namespaces.userns ? cstr(req.namespaces.userns.gidMap) : null;
  const timeOffsets = req.namespaces.timeOffsets === null ? null : cstr(req.namespaces.timeOffsets);
  const request = new BigInt64Array([
    BigInt(req.namespaces.cloneFlags),
    addr(joins),
    BigInt(req.namespaces.joins.length),
    addr(fdmap),
    BigInt(map.length / 2),
    BigInt(sealedExe()),
    argv.address,
    envp.address,
    addr(err),
    BigInt(req.cgroupFd ?? -1),
    uidMap ? addr(uidMap) : 0n,
    gidMap ? addr(gidMap) : 0n,
    timeOffsets ? addr(timeOffsets) : 0n,
  ]);
  const pid = new Int32Array(1);
  const rc = sys.bunc_spawn(request, pid);
  if (rc < 0) throw new SysError(-rc, `cannot start the container init (${errText(err)})`);
  return pid[0] ?? -1;
}
