// `exec`: a new process in a created, running (or, with --ignore-paused,
// paused) container. Planned here like the container's own process, from a
// process.json or the container's process with runc's flags on top; made
// by the C act (ffi/exec.c), which joins the container's namespaces and
// cgroup and makes the same final act as the init: no JavaScript and
// nothing of the runtime's binary enters the container.
import { existsSync, readFileSync, statSync } from "node:fs";
import {
  consoleSocketPair,
  exitCodeOf,
  receiveMaster,
  relayTerminal,
  waitForeground,
  withCallerSize,
} from "../launch/console.ts";
import { type Config, Process } from "../oci/config.ts";
import { checked } from "../oci/checked.ts";
import { ConfigError } from "../oci/errors.ts";
import { parseExactJson } from "../oci/exactJson.ts";
import { planExecLabels } from "../plan/lsm.ts";
import { checkHeldCapabilities, planProcess } from "../plan/process.ts";
import { planSeccomp } from "../plan/seccomp.ts";
import { writeControl } from "../cgroups/freezer.ts";
import { packFinal } from "../protocol/final.ts";
import { CLONE, O } from "../sys/constants.ts";
import { sys } from "../sys/lib.ts";
import { openPath } from "../sys/open.ts";
import { isAlive } from "../sys/process.ts";
import { writeAtomic } from "./store.ts";
import { readConfig } from "./bundle.ts";
import { containerCgroup } from "./remains.ts";
import { currentStatus } from "./status.ts";
import type { Store } from "./store.ts";

export interface ExecOptions {
  readonly id: string;
  /** A process.json (the runtime-spec's process object), instead of args and flags. */
  readonly process?: Process | undefined;
  readonly args: readonly string[];
  readonly tty?: boolean | undefined;
  readonly cwd?: string | undefined;
  readonly env?: readonly string[] | undefined;
  readonly user?: string | undefined;
  readonly additionalGids?: readonly string[] | undefined;
  readonly caps?: readonly string[] | undefined;
  readonly noNewPrivs?: boolean | undefined;
  readonly apparmor?: string | undefined;
  readonly processLabel?: string | undefined;
  readonly detach?: boolean | undefined;
  readonly pidFile?: string | undefined;
  /** A connected console socket, for a terminal. */
  readonly consoleSocket?: number | undefined;
  readonly preserveFds?: number | undefined;
  readonly cgroup?: string | undefined;
  readonly ignorePaused?: boolean | undefined;
  readonly cacheRoot: string;
}

/** A process.json's text, checked as config.json's process is. */
export function parseProcess(text: string, source: string): Process {
  let raw: unknown;
  try {
    raw = parseExactJson(text);
  } catch (e) {
    throw new Error(`--process: ${source} is not valid JSON: ${(e as Error).message}`);
  }
  return checked(Process, raw, ["process"]);
}

function parseIds(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xfffffffe)
    throw new Error(`${flag}: ${JSON.stringify(text)} is not a numeric id`);
  return Number(text);
}

/** The container's process with runc exec's flags on top (runc's newProcess). */
function processFromFlags(base: Process, o: ExecOptions): Process {
  if (o.args.length === 0) throw new Error("exec: give the command to run, or --process");
  const user = { ...base.user };
  if (o.user !== undefined) {
    const [uid = "", gid] = o.user.split(":");
    user.uid = parseIds("--user", uid);
    if (gid !== undefined) user.gid = parseIds("--user", gid);
  }
  if (o.additionalGids?.length)
    user.additionalGids = o.additionalGids.map((g) => parseIds("--additional-gids", g));
  const caps = base.capabilities ?? {};
  const add = (set: readonly string[] | undefined) => [...(set ?? []), ...(o.caps ?? [])];
  return {
    ...base,
    args: [...o.args],
    terminal: o.tty ?? false,
    env: [...(base.env ?? []), ...(o.env ?? [])],
    cwd: o.cwd ?? base.cwd,
    user,
    // As runc: ambient capabilities need inheritable ones, which --cap does not add.
    capabilities: o.caps?.length
      ? {
          ...caps,
          bounding: add(caps.bounding),
          effective: add(caps.effective),
          permitted: add(caps.permitted),
        }
      : caps,
    noNewPrivileges: (o.noNewPrivs ?? false) || (base.noNewPrivileges ?? false),
    ...(o.apparmor === undefined ? {} : { apparmorProfile: o.apparmor }),
    ...(o.processLabel === undefined ? {} : { selinuxLabel: o.processLabel }),
  };
}

const NAMESPACES: readonly [string, number][] = [
  // The user namespace first: the others are owned by it.
  ["user", CLONE.NEWUSER],
  ["mnt", CLONE.NEWNS],
  ["pid", CLONE.NEWPID],
  ["net", CLONE.NEWNET],
  ["ipc", CLONE.NEWIPC],
  ["uts", CLONE.NEWUTS],
  ["cgroup", CLONE.NEWCGROUP],
  ["time", CLONE.NEWTIME],
];

/** The init's namespaces that are not ours, opened (fd, type pairs for the C act). */
function openNamespaces(pid: number): Int32Array {
  const pairs: number[] = [];
  for (const [name, type] of NAMESPACES) {
    const theirs = statSync(`/proc/${pid}/ns/${name}`, { throwIfNoEntry: false });
    const ours = statSync(`/proc/self/ns/${name}`, { throwIfNoEntry: false });
    if (!theirs || (ours && ours.ino === theirs.ino && ours.dev === theirs.dev)) continue;
    pairs.push(openPath(`/proc/${pid}/ns/${name}`, O.RDONLY), type);
  }
  return Int32Array.from(pairs);
}

/** --cgroup: a sub-cgroup of the container's (PATH, or CONTROLLER:PATH for one v1 controller). */
function subPath(spec: string | undefined, controllers: readonly string[]): string {
  if (spec === undefined) return "";
  const at = spec.indexOf(":");
  const [ctrl, path] = at < 0 ? ["", spec] : [spec.slice(0, at), spec.slice(at + 1)];
  if (path.split("/").includes(".."))
    throw new Error(`--cgroup: ${JSON.stringify(spec)} may not climb with ".."`);
  if (ctrl && !ctrl.split(",").every((c) => controllers.includes(c))) return "";
  return path.replace(/^\/+/, "");
}

/** Runs the process; returns the exit code exec should exit with (0 when detached). */
export async function execInContainer(store: Store, o: ExecOptions): Promise<number> {
  const opened: number[] = [];
  try {
    const lock = store.lock(o.id);
    let pidFile: string | undefined;
    let result: { pid: number; master?: number } = { pid: -1 };
    try {
      const { state, status } = currentStatus(store, o.id);
      if (status === "paused" && !o.ignorePaused)
        throw new Error(`cannot exec in container ${o.id}: it is paused (resume it, or --ignore-paused)`);
      if (status !== "created" && status !== "running" && status !== "paused")
        throw new Error(`cannot exec in container ${o.id}: it is ${status}`);
      const pid = state.pid;
      // A container made before bunc kept its config has only the bundle's.
      const made = store.dir(o.id);
      const config = readConfig(existsSync(`${made}/config.json`) ? made : state.bundle);
      const asked = o.process ?? processFromFlags(config.process, o);
      if (asked.terminal && o.detach && o.consoleSocket === undefined)
        throw new Error("--tty: a detached process needs --console-socket for its terminal");
      const proc = withCallerSize(asked, o.consoleSocket === undefined);
      const cfg: Config = { ...config, process: proc };
      if (planExecLabels(cfg).length)
        throw new ConfigError(
          "process",
          "AppArmor and SELinux labels for exec are not supported by bunc yet",
        );
      const seccomp = planSeccomp(cfg, o.id, state.bundle, o.cacheRoot);
      if (seccomp?.notify)
        throw new ConfigError(
          "linux.seccomp.listenerPath",
          "exec into a container whose seccomp filter notifies an agent is not supported by bunc yet",
        );
      const plan = planProcess(cfg, null, seccomp);
      // Checked as kill and delete check it: a tampered state names no one else's cgroup.
      const freezer = containerCgroup(o.id, state.cgroup).controllerDir("freezer");
      // A child that met the frozen cgroup before its execve would hold us (its vfork parent)
      // forever: in a paused container the process joins the freezer's cgroup once it runs.
      const late = status === "paused" ? freezer?.dir : undefined;
      const joins = openNamespaces(pid);
      for (let i = 0; i < joins.length; i += 2) opened.push(joins[i] ?? -1);
      if (!joins.some((x, i) => i % 2 === 1 && x === CLONE.NEWUSER)) checkHeldCapabilities(plan);
      // The init must still be the container's once its namespaces are open (not a reused pid).
      if (!isAlive(pid, state.pidStartTime))
        throw new Error(`cannot exec in container ${o.id}: it has stopped`);
      const v2 = state.cgroup.dirs.find((d) => d.version === 2);
      const sub = (controllers: readonly string[]) => subPath(o.cgroup, controllers);
      const where = (d: { dir: string; controllers: readonly string[] }) =>
        `${d.dir}/${sub(d.controllers)}`.replace(/\/+$/, "");
      const cgroupFd = v2 && v2.dir !== late ? openPath(where(v2), O.RDONLY | O.DIRECTORY) : -1;
      if (cgroupFd >= 0) opened.push(cgroupFd);
      const cgroupFds = state.cgroup.dirs
        .filter((d) => d.version === 1 && d.dir !== late)
        .map((d) => openPath(`${where(d)}/tasks`, O.WRONLY));
      opened.push(...cgroupFds);
      const joinAfter = state.cgroup.dirs
        .filter((d) => d.dir === late)
        .map((d) => `${where(d)}/${d.version === 1 ? "tasks" : "cgroup.procs"}`);
      let consoleSock = -1;
      let ours = -1;
      if (proc.terminal) {
        if (o.consoleSocket !== undefined) consoleSock = o.consoleSocket;
        else {
          [ours, consoleSock] = consoleSocketPair();
          opened.push(ours, consoleSock);
        }
      }
      const { req, err } = packFinal({
        process: plan,
        seccompListener: null,
        path: proc.args[0] ?? "",
        cgroupFds,
        newCgroupns: false,
        capLast: Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8")),
        ttyFd: null,
        keepFds: 3 + (o.preserveFds ?? 0),
      });
      const out = new Int32Array(1);
      // struct bunc_exec_extra
      const extra = new Int32Array([
        plan.oomScoreAdj === null ? 0 : 1,
        plan.oomScoreAdj ?? 0,
        proc.terminal ? (plan.consoleSize?.rows ?? 0) : 0,
        proc.terminal ? (plan.consoleSize?.cols ?? 0) : 0,
      ]);
      const rc = sys.bunc_exec_process(req.bytes, joins, joins.length / 2, cgroupFd, consoleSock, extra, out);
      if (rc < 0) throw new Error(err.text());
      result = { pid: out[0] ?? -1 };
      try {
        for (const file of joinAfter) writeControl(file, String(result.pid));
      } catch (e) {
        // Not left running outside the container's freezer.
        sys.bunc_kill(result.pid, 9);
        throw e;
      }
      if (ours >= 0) result.master = receiveMaster(ours);
      pidFile = o.pidFile;
    } finally {
      lock.release();
    }
    if (pidFile) writeAtomic(pidFile, String(result.pid));
    if (o.detach) return 0;
    const status =
      result.master === undefined
        ? waitForeground(result.pid)
        : await relayTerminal(result.master, result.pid);
    return exitCodeOf(status);
  } finally {
    for (const fd of opened) if (fd >= 0) sys.bunc_close(fd);
  }
}
