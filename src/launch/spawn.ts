// Packs the spawn act's request and runs it: clone with the namespace flags,
// join namespaces by fd, re-execute our own sealed binary as `init`.
import { initFds } from "../protocol/plan.ts";
import { FDMAP, JOIN, keepAlive, pack, packArray, SPAWN } from "../sys/abi.ts";
import { SysError } from "../sys/errors.ts";
import { libFd, sys } from "../sys/lib.ts";
import { euid, inInitialUserns } from "../sys/rootless.ts";
import { CStrings, cstr, ErrBuf } from "../sys/mem.ts";
import type { NamespacePlan } from "../plan/namespaces.ts";

let sealedSelf = -1;

// The binary is executed through a read-only detached mount of itself, so a
// container process can never reopen it for writing (CVE-2019-5736).
function sealedExe(): number {
  if (sealedSelf < 0) {
    const err = new ErrBuf();
    sealedSelf = sys.bunc_seal_self(err.buf, err.len);
    if (sealedSelf < 0) throw new Error(`cannot seal the runtime binary: ${err.text()}`);
  }
  return sealedSelf;
}

// A compiled bunc is its own interpreter; from source, Bun needs the script.
// The count of passed fds tells the init where its own are.
function selfArgv(role: string, passed: number): string[] {
  const compiled = process.argv[1]?.startsWith("/$bunfs/") ?? false;
  const args = passed ? [role, String(passed)] : [role];
  return compiled ? ["bunc", ...args] : ["bun", Bun.main, ...args];
}

export interface SpawnRequest {
  readonly namespaces: NamespacePlan;
  readonly channelFd: number;
  readonly consoleFd: number | null;
  /** A cgroup2 directory fd to start the init in. */
  readonly cgroupFd: number | null;
  /** The caller's fds 3 to 3+passFds-1 go to the init at their numbers. */
  readonly passFds: number;
  /** process.oomScoreAdj, set before the init exists so that it inherits it. */
  readonly oomScoreAdj: number | null;
  /** What our binary runs as in there: the container's init, or a worker (src/main.ts). */
  readonly role?: "init" | "unpack-worker";
}

/** Returns the init's (or worker's) pid once it has exec'd (and, with a user namespace, entered it). */
export function spawnInit(req: SpawnRequest): number {
  const ns = req.namespaces;
  const joins = packArray(JOIN, ns.joins);
  const fds = initFds(req.passFds);
  const map = [
    { src: req.channelFd, dst: fds.channel },
    { src: libFd(), dst: fds.lib },
  ];
  if (req.consoleFd !== null) map.push({ src: req.consoleFd, dst: fds.console });
  const err = new ErrBuf();
  const request = pack(SPAWN, {
    clone_flags: ns.cloneFlags,
    joins,
    njoins: ns.joins.length,
    fdmap: packArray(FDMAP, map),
    nfdmap: map.length,
    exe_fd: sealedExe(),
    lib_fd: fds.lib,
    argv: new CStrings(selfArgv(req.role ?? "init", req.passFds)),
    // An explicit, empty environment: BUN_OPTIONS and the like from the
    // caller's environment must not reach a process that runs as root.
    envp: new CStrings([]),
    errbuf: err.buf,
    errlen: err.len,
    cgroup_fd: req.cgroupFd ?? -1,
    uid_map: ns.userns ? cstr(ns.userns.uidMap) : null,
    gid_map: ns.userns ? cstr(ns.userns.gidMap) : null,
    time_offsets: ns.timeOffsets === null ? null : cstr(ns.timeOffsets),
    pass_fds: req.passFds,
    uid_helper: ns.userns?.uidWriter.helper ? cstr(ns.userns.uidWriter.helper) : null,
    gid_helper: ns.userns?.gidWriter.helper ? cstr(ns.userns.gidWriter.helper) : null,
    deny_setgroups: ns.userns?.gidWriter.denySetgroups ? 1 : 0,
    set_oom_score_adj: req.oomScoreAdj === null ? 0 : 1,
    oom_score_adj: req.oomScoreAdj ?? 0,
    // Not the forced --rootless: only a runtime that really is not the host's root.
    unprivileged: euid() !== 0 || !inInitialUserns() ? 1 : 0,
  });
  const pid = new Int32Array(1);
  const rc = sys.bunc_spawn(request.bytes, pid);
  keepAlive(request);
  // A failure the config asked for names its field, as every config error does.
  if (rc < 0 && /^(process|linux)\.\w+: /.test(err.text())) throw new Error(err.text());
  if (rc < 0) throw new SysError(-rc, `cannot start the container init (${err.text()})`);
  return pid[0] ?? -1;
}
