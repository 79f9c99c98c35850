// `create`: validate, reserve the id, make the cgroup and exec fifo, spawn
// the init and hand it its plan; on any failure undo all of it.
import { chmodSync, mkdirSync } from "node:fs";
import { posix } from "node:path";
import { type Cgroup, CgroupInUse } from "../cgroups/cgroup.ts";
import { systemdCgroupsPath } from "../cgroups/path.ts";
import { debug } from "../diag.ts";
import { consoleSocketPair, receiveMaster, withCallerSize } from "../launch/console.ts";
import { idmappedTrees } from "../launch/idmap.ts";
import { spawnInit } from "../launch/spawn.ts";
import { waiterMemfd } from "../launch/waiter.ts";
import type { Config } from "../oci/config.ts";
import type { StoredState } from "../oci/state.ts";
import { OCI_VERSION } from "../oci/version.ts";
import { type ContainerPlan, planContainer } from "../plan/container.ts";
import { closeJoins } from "../plan/namespaces.ts";
import { loadPlugins, type Plugin } from "../hooks/plugins.ts";
import { runPrecreate, runStage, runStageWarning } from "../hooks/run.ts";
import { type HookPlan, type StageHook, selectHooks } from "../hooks/select.ts";
import { hookState, hookStateBase } from "../hooks/state.ts";
import { stringifyExact } from "../oci/exactJson.ts";
import { parseConfig } from "../oci/validate.ts";
import { withInitPid } from "../plan/seccomp.ts";
import { receiveMessage, sendMessage } from "../protocol/channel.ts";
import { sendFds } from "../protocol/fds.ts";
import type { InitPlan, InitReply, RuntimeHooksDone } from "../protocol/plan.ts";
import { O } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { cstr } from "../sys/mem.ts";
import { openPath } from "../sys/open.ts";
import { killAndReap, pidInItsNamespace, processStartTime } from "../sys/process.ts";
import { readConfig } from "./bundle.ts";
import { hostNotifySocket, makeNotifyDir, notifyDir, withNotifyEnv } from "./notify.ts";
import type { PassedFds } from "./passFds.ts";
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
  /** Plugin directories after the default one (--hooks-dir). */
  readonly hooksDirs?: readonly string[] | undefined;
  /** --systemd-cgroup: linux.cgroupsPath is systemd's slice:prefix:name. */
  readonly systemdCgroup?: boolean | undefined;
  /** The caller's fds the container process gets from 3 on (checked by passedFds). */
  readonly passed?: PassedFds | undefined;
  /** A config built in memory (shell mode) instead of the bundle's config.json; validated the same way. */
  readonly config?: Config | undefined;
  /** Plugins for this create only, after the plugin directory's (shell mode's bundled ones). */
  readonly plugins?: readonly Plugin[] | undefined;
}

export interface Created {
  readonly state: StoredState;
  readonly config: Config;
  /** The pty master, for a foreground terminal container. */
  readonly master: number | undefined;
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

/** The hooks of the stages after create, which the state keeps. */
function laterHooks(hooks: HookPlan): Pick<StoredState, "hooks"> {
  const { startContainer, poststart, poststop } = hooks;
  if (!startContainer && !poststart && !poststop) return {};
  return {
    hooks: {
      ...(startContainer && { startContainer }),
      ...(poststart && { poststart }),
      ...(poststop && { poststop }),
    },
  };
}

/** podman's precreate stage: each hook rewrites the config, which is validated again. */
async function precreate(
  hooks: readonly StageHook[],
  config: Config,
  bundle: string,
  root: string,
  id: string,
): Promise<Config> {
  const state = {
    ociVersion: OCI_VERSION,
    id,
    status: "creating",
    pid: 0,
    bundle,
    annotations: config.annotations ?? {},
  };
  const text = await runPrecreate(hooks, stringifyExact(config), { cwd: bundle, root, config }, state);
  try {
    return parseConfig(text);
  } catch (e) {
    throw new Error(`the config the precreate hooks printed: ${(e as Error).message}`);
  }
}

/**
 * systemd's socket activation: the process learns how many fds are its own
 * and that they are meant for it (LISTEN_PID is its pid as it sees it; runc
 * always says 1, wrong without a pid namespace of its own).
 */
function withListenEnv(init: InitPlan, listen: number, pid: number): InitPlan {
  if (!listen) return init;
  const names = process.env.LISTEN_FDNAMES;
  const env = [
    ...init.process.env.filter((e) => !/^LISTEN_(FDS|PID|FDNAMES)=/.test(e)),
    `LISTEN_FDS=${listen}`,
    `LISTEN_PID=${pidInItsNamespace(pid) ?? 1}`,
    ...(names === undefined ? [] : [`LISTEN_FDNAMES=${names}`]),
  ];
  return { ...init, process: { ...init.process, env } };
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
  let plan: ContainerPlan | undefined;
  let hooks: HookPlan = {};
  let trees = new Map<string, number>();
  let lock: Lock | undefined;
  let claim: Lock | undefined;
  let pid = -1;
  // Once precreate hooks ran (one may have unpacked a root), a failure before the id is reserved still runs poststop.
  let precreated: { bundle: string; config: Config } | undefined;
  try {
    // Everything that can fail on the config fails here, before anything is made.
    const bundle = posix.resolve(o.bundle);
    const plugins = [...loadPlugins(o.hooksDirs ?? []), ...(o.plugins ?? [])];
    let config = o.config ? parseConfig(stringifyExact(o.config)) : readConfig(bundle);
    hooks = selectHooks(config, plugins);
    if (hooks.precreate) claim = store.claim(o.id);
    if (store.exists(o.id)) throw new Error(`container with id ${o.id} already exists`);
    if (hooks.precreate) {
      // Set first: a hook that fails after an earlier one made something still gets its poststop.
      precreated = { bundle, config };
      config = await precreate(hooks.precreate, config, bundle, store.root, o.id);
      precreated = { bundle, config };
      hooks = selectHooks(config, plugins);
    }
    if (o.systemdCgroup)
      config = {
        ...config,
        linux: { ...config.linux, cgroupsPath: systemdCgroupsPath(config.linux?.cgroupsPath, o.id) },
      };
    const notify = hostNotifySocket() !== undefined;
    if (notify) config = withNotifyEnv(config);
    const foregroundTty = o.console === "foreground" && (config.process.terminal ?? false);
    if (foregroundTty) config = { ...config, process: withCallerSize(config.process, true) };
    checkConsole(config, typeof o.console === "number" || foregroundTty);
    try {
      plan = planContainer({
        config,
        bundle,
        id: o.id,
        noPivot: o.noPivot ?? false,
        noNewKeyring: o.noNewKeyring ?? false,
        cacheRoot: store.root,
        notifyDir: notify ? notifyDir(store, o.id) : null,
        hostRootStage: `${store.dir(o.id)}/host-root`,
        hooks: {
          hooks: { createContainer: hooks.createContainer ?? [], startContainer: hooks.startContainer ?? [] },
          runtimeHooks: !!(hooks.prestart || hooks.createRuntime),
          hookState: hookStateBase({
            ociVersion: OCI_VERSION,
            id: o.id,
            bundle,
            annotations: config.annotations ?? {},
          }),
        },
      });
    } catch (e) {
      // A create of the same id that started a moment before us may already be in its cgroup.
      if (e instanceof CgroupInUse && store.exists(o.id))
        throw new Error(`container with id ${o.id} already exists`);
      throw e;
    }
    trees = idmappedTrees(plan.init.steps);
    debug("planned");
    const { cgroup, init } = plan;
    const creator = process.pid;
    let state: StoredState = {
      ociVersion: OCI_VERSION,
      id: o.id,
      pid: 0,
      pidStartTime: "",
      creatorPid: creator,
      creatorStartTime: processStartTime(creator) ?? "",
      creating: true,
      bundle,
      rootfs: plan.rootfs,
      created: new Date().toISOString(),
      owner: "",
      annotations: config.annotations ?? {},
      cgroup: cgroup.state,
      ...(config.linux?.resources ? { resources: config.linux.resources } : {}),
      ...laterHooks(hooks),
    };
    // The config as made (after precreate hooks, or built by shell mode), not the bundle's file.
    lock = store.reserve(state, stringifyExact(plan.config));
    if (notify) makeNotifyDir(store, o.id);
    if (plan.init.hostRootStage) mkdirSync(plan.init.hostRootStage, { mode: 0o755 });
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
    // the rest is made; it waits for its plan before it acts.
    cgroup.create(2);
    pid = spawnInit({
      namespaces: plan.namespaces,
      channelFd: initEnd,
      consoleFd: theirs >= 0 ? theirs : null,
      cgroupFd: plan.startIn === null ? null : open(plan.startIn, O.RDONLY | O.DIRECTORY),
      passFds: o.passed?.total ?? 0,
      oomScoreAdj: plan.init.process.oomScoreAdj,
    });
    debug(`init ${pid} spawned`);
    // Only the init holds its end now: its death reads as EOF here.
    sys.bunc_close(initEnd);
    opened.splice(opened.indexOf(initEnd), 1);
    cgroup.create(1);
    const fifo = store.fifo(o.id);
    check(sys.bunc_mkfifo(cstr(fifo), 0o622), `mkfifo ${fifo}`);
    // Not subject to our umask: the init may run as a uid of a user namespace.
    chmodSync(fifo, 0o622);
    cgroup.applyDevices(plan.devices, plan.deviceFilter);
    cgroup.applyResources();
    debug(`cgroup ${cgroup.path} made`);
    sendMessage(toInit, withListenEnv(withInitPid(init, pid), o.passed?.listen ?? 0, pid));
    sendFds(toInit, init.fds, (slot) => {
      if (slot.kind === "stateDir") return open(store.dir(o.id), O.PATH | O.DIRECTORY);
      if (slot.kind === "cgroupJoin") return open(slot.file, O.WRONLY);
      if (slot.kind === "seccompListener") return plan?.seccompListener ?? -1;
      if (slot.kind === "waiter") {
        const fd = waiterMemfd();
        opened.push(fd);
        return fd;
      }
      return trees.get(slot.field) ?? -1;
    });
    let reply = receiveMessage<InitReply>(toInit);
    if (reply && "runtimeHooks" in reply) {
      // Every mount is in place, pivot_root not done: the runtime's stages, with the host pid.
      const ctx = { cwd: bundle, root: store.root, config };
      // Plugins may hand back annotations (the network plugin's address): the state keeps them.
      const added = {
        ...(await runStage("prestart", hooks.prestart, hookState(state, "creating", pid), ctx)),
        ...(await runStage("createRuntime", hooks.createRuntime, hookState(state, "creating", pid), ctx)),
      };
      if (Object.keys(added).length) state = { ...state, annotations: { ...state.annotations, ...added } };
      sendMessage(toInit, { go: true } satisfies RuntimeHooksDone);
      reply = receiveMessage<InitReply>(toInit);
    }
    if (!reply || "runtimeHooks" in reply) throw new Error("container init exited before it was ready");
    if ("error" in reply) throw new Error(reply.error);
    debug("init ready");
    const pidStartTime = processStartTime(pid);
    if (pidStartTime === null) throw new Error("container init exited before it was ready");
    state = { ...state, pid, pidStartTime, creating: false, cgroup: cgroup.state };
    store.write(state);
    if (o.pidFile) writeAtomic(posix.resolve(o.pidFile), String(pid));
    const master = foregroundTty ? receiveMaster(ours) : undefined;
    return { state, config: plan.config, master };
  } catch (e) {
    // The container is destroyed: its poststop hooks still run.
    const destroyed = (bundle: string, config: Config) =>
      runStageWarning(
        "poststop",
        hooks.poststop,
        hookState(
          { ociVersion: OCI_VERSION, id: o.id, bundle, annotations: config.annotations ?? {} },
          "stopped",
          0,
        ),
        { cwd: bundle, root: store.root, config },
      );
    if (lock && plan) {
      const cause = await undoCreate(store, o.id, pid, plan.cgroup, e as Error);
      await destroyed(plan.bundle, plan.config);
      throw cause;
    }
    if (precreated) await destroyed(precreated.bundle, precreated.config);
    throw e;
  } finally {
    for (const fd of opened) if (fd >= 0) sys.bunc_close(fd);
    for (const fd of trees.values()) sys.bunc_close(fd);
    if (plan) closeJoins(plan.namespaces);
    if (plan?.seccompListener != null) sys.bunc_close(plan.seccompListener);
    lock?.release();
    claim?.release();
  }
}

/**
 * Undoes a failed create: kills the init, removes the cgroup, then the
 * state. Should the cgroup not go, the state stays, so that `delete
 * --force` can finish the job; the error says so.
 */
async function undoCreate(
  store: Store,
  id: string,
  pid: number,
  cgroup: Cgroup,
  cause: Error,
): Promise<Error> {
  if (pid > 0) await killAndReap(pid);
  try {
    await cgroup.undo();
  } catch (e) {
    debug(`cleanup after a failed create: ${(e as Error).message}`);
    return new Error(
      `${cause.message} (and its cgroup could not be removed: delete --force ${id} finishes the cleanup)`,
    );
  }
  store.remove(id);
  return cause;
}
