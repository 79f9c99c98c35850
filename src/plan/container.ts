// config.json -> everything a container needs, decided before anything is
// made: a config error is found here, before the clone and before any
// cgroup or state directory exists.
import { realpathSync, statSync } from "node:fs";
import { posix } from "node:path";
import { Cgroup } from "../cgroups/cgroup.ts";
import { roomForInit } from "../cgroups/resources.ts";
import { type DeviceEntry, deviceEntries } from "../cgroups/devices.ts";
import type { Config } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";
import type { InitPlan } from "../protocol/plan.ts";
import { type InitInputs, planInit } from "./init.ts";
import { checkRlimits } from "./limits.ts";
import { checkHeldCapabilities } from "./process.ts";
import { closeJoins, type NamespacePlan, planNamespaces } from "./namespaces.ts";
import { resolveUsername } from "./user.ts";
import { sys } from "../sys/lib.ts";
import { cstr } from "../sys/mem.ts";
import { euid, rootless } from "../sys/rootless.ts";
import { warn } from "../diag.ts";

export interface ContainerInputs {
  readonly config: Config;
  /** Absolute. */
  readonly bundle: string;
  readonly id: string;
  readonly noPivot: boolean;
  readonly noNewKeyring: boolean;
  /** Where compiled seccomp filters are kept (the state root). */
  readonly cacheRoot: string | null;
  readonly hooks: InitInputs["hooks"];
  readonly notifyDir?: string | null;
  /** An empty directory of the container's state, for a root that is the host's / (made once the id is reserved). */
  readonly hostRootStage?: string;
}

export interface ContainerPlan {
  readonly config: Config;
  readonly bundle: string;
  readonly rootfs: string;
  /** Holds the fds of namespaces joined by path: closeJoins when done. */
  readonly namespaces: NamespacePlan;
  readonly cgroup: Cgroup;
  /** The cgroup2 directory the init starts in, if any (Cgroup.joinPlan). */
  readonly startIn: string | null;
  readonly devices: readonly DeviceEntry[];
  /** The config has device rules, which cgroup v2 enforces with a filter of its own. */
  readonly deviceFilter: boolean;
  /** A socket connected to linux.seccomp.listenerPath, when a rule notifies. */
  readonly seccompListener: number | null;
  readonly init: InitPlan;
}

function connectListener(path: string): number {
  const fd = sys.bunc_connect_unix(cstr(path));
  if (fd < 0)
    throw new ConfigError(
      "linux.seccomp.listenerPath",
      `cannot connect to ${path}: ${sys.bunc_strerror(-fd)}`,
    );
  return fd;
}

function checkRootfs(bundle: string, path: string): string {
  const rootfs = posix.resolve(bundle, path);
  let dir: boolean;
  try {
    dir = statSync(rootfs).isDirectory();
  } catch (e) {
    throw new ConfigError("root.path", `${rootfs}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  if (!dir) throw new ConfigError("root.path", `${rootfs} is not a directory`);
  return rootfs;
}

export function planContainer(i: ContainerInputs): ContainerPlan {
  const rootfs = checkRootfs(i.bundle, i.config.root.path);
  const config = resolveUsername(i.config, rootfs);
  const cgroup = Cgroup.plan(i.id, config.linux?.cgroupsPath);
  // Rootless, a cgroupsPath the caller may not make is left out (as runc
  // does), but said: the container then runs without a cgroup.
  if (config.linux?.cgroupsPath && cgroup.state.dirs.length === 0 && rootless())
    warn(
      `linux.cgroupsPath: bunc runs rootless and may make ${cgroup.path} in no cgroup hierarchy (none is delegated to uid ${euid()}); the container runs without a cgroup`,
    );
  cgroup.planResources(config.linux?.resources);
  const { late, startIn, early } = cgroup.joinPlan(roomForInit(config.linux?.resources));
  const rules = config.linux?.resources?.devices;
  cgroup.checkDevices(rules?.length ?? 0);
  const devices = deviceEntries(rules);
  const namespaces = planNamespaces(config);
  try {
    const init = planInit({
      config,
      bundle: i.bundle,
      rootfs,
      cgroup: cgroup.state,
      namespaces,
      cgroupJoin: late,
      joinEarly: early,
      cacheRoot: i.cacheRoot,
      id: i.id,
      noPivot: i.noPivot,
      noNewKeyring: i.noNewKeyring,
      hooks: i.hooks,
      notifyDir: i.notifyDir ?? null,
      hostRootStage: realpathSync(rootfs) === "/" ? (i.hostRootStage ?? null) : null,
    });
    checkRlimits(init.process.rlimits);
    if (!namespaces.userns && !namespaces.joinsUserns) checkHeldCapabilities(init.process);
    // The agent's socket is on the host: connected now, handed to the init.
    const notify = init.process.seccomp?.notify;
    const seccompListener = notify ? connectListener(posix.resolve(i.bundle, notify.listenerPath)) : null;
    return {
      config,
      bundle: i.bundle,
      rootfs,
      namespaces,
      cgroup,
      startIn,
      devices,
      deviceFilter: !!rules?.length,
      seccompListener,
      init,
    };
  } catch (e) {
    closeJoins(namespaces);
    throw e;
  }
}
