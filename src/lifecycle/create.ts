// `create`: validate, reserve the id, make the cgroup and exec fifo, spawn
// the init and hand it its plan; on any failure undo all of it.
import { chmodSync, readFileSync } from "node:fs";
import { posix } from "node:path";
import { debug } from "../debug.ts";
import { applyDeviceRules, joinPlan, makeCgroupDirs, planCgroup, removeMade } from "../cgroups/manager.ts";
import { receiveMessage, sendMessage } from "../protocol/channel.ts";
import type { InitPlan, InitReply } from "../protocol/plan.ts";
import type { Config } from "../oci/config.ts";
import type { StoredState } from "../oci/state.ts";
import { parseConfig } from "../oci/validate.ts";
import { OCI_VERSION } from "../oci/version.ts";
import { O } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { openPath } from "../sys/open.ts";
import { cstr } from "../sys/mem.ts";
import { consoleSocketPair, receiveMaster } from "../launch/console.ts";
import { idmappedTrees } from "../launch/idmap.ts";
import { checkRlimits } from "../plan/limits.ts";
import { resolveUsername } from "../plan/user.ts";
import { closeJoins, type NamespacePlan, planNamespaces } from "../plan/namespaces.ts";
import { planInit } from "../plan/plan.ts";
import { spawnInit } from "../launch/spawn.ts";
import { processStartTime } from "./status.ts";
import type { Lock, Store } from "./store.ts";
import { writeAtomic } from "./store.ts";

export interface CreateOptions {
  readonly id: string;
  readonly bundle: string;
  readonly pidFile?: string | undefined;
  /**
   * Terminal containers: a connected console socket (--console-socket) the
   * init sends the pty master to, or "foreground" when the caller relays the
   * terminal itself and gets the master back.
   */
  readonly console?: number | "foreground" | undefined;
  readonly noPivot?: boolean | undefined;
  readonly noNewKeyring?: boolean | undefined;
}

export interface Created {
  readonly state: StoredState;
  readonly config: Config;
  /** The pty master, for a foreground terminal container. */
  readonly master: number | undefined;
}

function loadConfig(bundle: string): Config {
  let text: string;
  try {
    text = readFileSync(`${bundle}/config.json`, "utf8");
  } catch (e) {
    throw new Error(
      `cannot read ${bundle}/config.json: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  return parseConfig(text);
}

function checkConsole(config: Config, hasConsole: boolean): void {
  const terminal = config.process.terminal ?? false;
  if (terminal && !hasConsole) {
    throw new Error(
      "process.terminal: a terminal needs --console-socket when bunc does not stay in the foreground",
    );
  }
  if (!terminal && hasConsole) {
    throw new Error("--console-socket: the config does not ask for a terminal (process.terminal is false)");
  }
}

/** Kills and reaps a half-made init; one stuck in the kernel is given up on after 5 s. */
function killInit(pid: number): void {
  sys.bunc_kill(pid, 9);
  const status = new Int32Array(1);
  for (let i = 0; i < 5000 && sys.bunc_reap(pid, status) === 0; i++) Bun.sleepSync(1);
}

export async function createContainer(store: Store, o: CreateOptions): Promise<Created> {
  debug(`create ${o.id}`);
  // fds opened here (and the caller's console socket) are closed on the way
  // out; what is made after the id is reserved is undone on failure.
  const opened: number[] = typeof o.console === "number" ? [o.console] : [];
  const open = (path: string, flags: number) => {
    const fd = openPath(path, flags);
    opened.push(fd);
    return fd;
  };
  let namespaces: NamespacePlan | undefined;
  let lock: Lock | undefined;
  let made: string[] = [];
  let pid = -1;
  try {
    const bundle = posix.resolve(o.bundle);
    const loaded = loadConfig(bundle);
    const rootfs = posix.resolve(bundle, loaded.root.path);
    const config = resolveUsername(loaded, rootfs);
    const foregroundTty = o.console === "foreground" && (config.process.terminal ?? false);
    checkConsole(config, typeof o.console === "number" || foregroundTty);
    namespaces = planNamespaces(config);
    const cgroup = planCgroup(o.id, config.linux?.cgroupsPath);
    const fifo = store.fifo(o.id);
    debug("namespaces and cgroup planned");
    lock = store.reserve(o.id);
    let state: StoredState = {
      ociVersion: OCI_VERSION,
      id: o.id,
      pid: 0,
      pidStartTime: "",
      creatorPid: process.pid,
      creating: true,
      bundle,
      rootfs,
      created: new Date().toISOString(),
      owner: "",
      annotations: config.annotations ?? {},
      cgroup,
    };
    store.write(state);
    const [ours, theirs] = foregroundTty
      ? consoleSocketPair()
      : [-1, typeof o.console === "number" ? o.console : -1];
    if (foregroundTty) opened.push(ours, theirs);
    const channel = new Int32Array(2);
    check(sys.bunc_socketpair(channel), "socketpair");
    const [toInit = -1, initEnd = -1] = channel;
    opened.push(toInit, initEnd);
    // Only what clone needs comes first: the cgroup2 directory the init
    // starts in. The init then starts up (a Bun start-up of its own) while
    // the rest is made and planned; it waits for its plan before it acts.
    made = makeCgroupDirs(cgroup, 2);
    const join = joinPlan(cgroup);
    pid = spawnInit({
      namespaces,
      channelFd: initEnd,
      consoleFd: theirs >= 0 ? theirs : null,
      cgroupFd: join.startIn === null ? null : open(join.startIn, O.RDONLY | O.DIRECTORY),
    });
    debug(`init ${pid} spawned`);
    // Only the init holds its end now: its death reads as EOF here.
    sys.bunc_close(initEnd);
    opened.splice(opened.indexOf(initEnd), 1);
    made.push(...makeCgroupDirs(cgroup, 1));
    check(sys.bunc_mkfifo(cstr(fifo), 0o622), `mkfifo ${fifo}`);
    // Not subject to our umask: the init may run as a uid of a user namespace.
    chmodSync(fifo, 0o622);
    const planned = planInit({
      config,
      bundle,
      rootfs,
      cgroup,
      namespaces,
      id: o.id,
      noPivot: o.noPivot ?? false,
      noNewKeyring: o.noNewKeyring ?? false,
    });
    checkRlimits(planned.process);
    applyDeviceRules(cgroup, config.linux?.resources?.devices);
    debug(`cgroup ${cgroup.path} made`);
    const plan: InitPlan = { ...planned, cgroupJoinCount: join.late.length };
    sendMessage(toInit, plan);
    // The fds InitFds lists, in its order.
    const trees = idmappedTrees(plan.steps, pid);
    opened.push(...trees);
    const fds = [
      open(store.dir(o.id), O.PATH | O.DIRECTORY),
      ...join.late.map((file) => open(file, O.WRONLY)),
      ...trees,
    ];
    for (const fd of fds) check(sys.bunc_send_fd(toInit, fd), "send an fd to the init");
    const reply = receiveMessage<InitReply>(toInit);
    if (!reply) throw new Error("container init exited before it was ready");
    if ("error" in reply) throw new Error(reply.error);
    debug("init ready");
    const pidStartTime = processStartTime(pid);
    if (pidStartTime === null) throw new Error("container init exited before it was ready");
    state = { ...state, pid, pidStartTime, creating: false };
    store.write(state);
    if (o.pidFile) writeAtomic(posix.resolve(o.pidFile), String(pid));
    const master = foregroundTty ? receiveMaster(ours) : undefined;
    return { state, config, master };
  } catch (e) {
    if (lock) await undoCreate(store, o.id, pid, made);
    throw e;
  } finally {
    for (const fd of opened) if (fd >= 0) sys.bunc_close(fd);
    if (namespaces) closeJoins(namespaces);
    lock?.release();
  }
}

/** Undoes a failed create, each step whatever the others did: the first error is the one to report. */
async function undoCreate(store: Store, id: string, pid: number, made: readonly string[]): Promise<void> {
  const steps = [() => (pid > 0 ? killInit(pid) : undefined), () => removeMade(made), () => store.remove(id)];
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      debug(`cleanup after a failed create: ${(e as Error).message}`);
    }
  }
}
