// Turns a validated config into the init's plan: every mount flag, capability
// mask and limit is decided here, on the runtime side.
import { readFileSync, statSync } from "node:fs";
import { posix } from "node:path";
import type { CgroupState } from "../oci/state.ts";
import type { InitPlan, ProcessPlan, RootfsStep } from "../protocol/plan.ts";
import { PROPAGATION, parseOptions } from "./mountOptions.ts";
import type { Config, Mount } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";
import { CAPABILITIES, MS, RLIMITS, S_IFBLK, S_IFCHR, S_IFIFO } from "../sys/constants.ts";
import type { NamespacePlan } from "./namespaces.ts";
import { planExecLabels, withMountLabel } from "./lsm.ts";
import { planSched } from "./sched.ts";
import { planSysctl } from "./sysctl.ts";
import { mapText } from "./userns.ts";

const RLIM_INFINITY = "18446744073709551615";
const CAP_SETS = ["bounding", "effective", "permitted", "inheritable", "ambient"] as const;

function capMask(names: readonly string[] | undefined, where: string): string {
  let mask = 0n;
  (names ?? []).forEach((name, i) => {
    const bit = CAPABILITIES[name];
    if (bit === undefined)
      throw new ConfigError(`${where}[${i}]`, `unknown capability ${JSON.stringify(name)}`);
    mask |= 1n << BigInt(bit);
  });
  return mask.toString();
}

const limit = (n: number) => (n >= 2 ** 64 - 1 ? RLIM_INFINITY : BigInt(n).toString());

export function planProcess(config: Config, keyring: string | null = null): ProcessPlan {
  const p = config.process;
  const caps = CAP_SETS.map((set) => capMask(p.capabilities?.[set], `process.capabilities.${set}`));
  const rlimits = (p.rlimits ?? []).map((r, i): [number, string, string] => {
    const type = RLIMITS[r.type];
    if (type === undefined) throw new ConfigError(`process.rlimits[${i}].type`, `unknown resource ${r.type}`);
    if (r.soft > r.hard)
      throw new ConfigError(
        `process.rlimits[${i}]`,
        `soft limit ${r.soft} is above the hard limit ${r.hard}`,
      );
    return [type, limit(r.soft), limit(r.hard)];
  });
  return {
    args: p.args,
    env: p.env ?? [],
    cwd: p.cwd,
    uid: p.user.uid,
    gid: p.user.gid,
    groups: p.user.additionalGids ?? [],
    umask: p.user.umask ?? 0o022,
    caps: caps as unknown as ProcessPlan["caps"],
    noNewPrivileges: p.noNewPrivileges ?? false,
    rlimits,
    terminal: p.terminal ?? false,
    consoleSize: p.consoleSize ? { rows: p.consoleSize.height, cols: p.consoleSize.width } : null,
    oomScoreAdj: p.oomScoreAdj ?? null,
    keyring,
    ...planSched(config),
  };
}

const withSlash = (p: string) => (p.startsWith("/") ? posix.normalize(p) : posix.normalize(`/${p}`));

function isBind(m: Mount): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}

function planIdmap(config: Config, m: Mount, where: string, option: "idmap" | "ridmap") {
  const recursive = option === "ridmap";
  if (!m.uidMappings?.length && !m.gidMappings?.length) {
    const userns = (config.linux?.namespaces ?? []).some((n) => n.type === "user" && !n.path);
    if (!userns) {
      throw new ConfigError(
        `${where}.uidMappings`,
        `${option} needs mappings here or a new user namespace to take them from`,
      );
    }
    return { recursive, uidMap: null, gidMap: null };
  }
  return {
    recursive,
    uidMap: mapText(m.uidMappings ?? [], `${where}.uidMappings`),
    gidMap: mapText(m.gidMappings ?? [], `${where}.gidMappings`),
  };
}

function planMount(config: Config, m: Mount, i: number, bundle: string, cgroup: CgroupState): RootfsStep[] {
  const where = `mounts[${i}]`;
  const target = withSlash(m.destination);
  let opts: ReturnType<typeof parseOptions>;
  try {
    opts = parseOptions(m.options ?? [], `${where}.options`);
  } catch (e) {
    throw new ConfigError("", (e as Error).message);
  }
  const { set, clr } = opts.recursiveAttrs;
  const propagate: RootfsStep[] = [
    ...(set || clr ? [{ op: "setattr", target, set, clr } as const] : []),
    ...opts.propagation.map((flags): RootfsStep => ({ op: "remount", target, flags })),
  ];
  if (opts.idmap && !isBind(m))
    throw new ConfigError(`${where}.options`, `${opts.idmap} applies to bind mounts only`);
  if ((m.uidMappings?.length || m.gidMappings?.length) && !opts.idmap) {
    throw new ConfigError(`${where}.uidMappings`, "mappings of a mount need the idmap or ridmap option");
  }
  if (opts.copyUp && m.type !== "tmpfs")
    throw new ConfigError(`${where}.options`, "tmpcopyup applies to tmpfs mounts only");
  if (m.type === "cgroup") return [...planCgroupMount(target, opts.flags, cgroup), ...propagate];
  if (isBind(m)) {
    if (!m.source) throw new ConfigError(`${where}.source`, "a bind mount needs a source");
    const source = posix.resolve(bundle, m.source);
    let file: boolean;
    try {
      file = !statSync(source).isDirectory();
    } catch {
      throw new ConfigError(`${where}.source`, `${source} does not exist`);
    }
    const steps: RootfsStep[] = [
      {
        op: "mount",
        source,
        target,
        fstype: "",
        flags: MS.BIND | (opts.recursive ? MS.REC : 0),
        data: "",
        file,
        ...(opts.idmap ? { idmap: planIdmap(config, m, where, opts.idmap) } : {}),
      },
    ];
    // A bind ignores all other flags: they take a remount of the new mount.
    if (opts.flags !== 0) {
      steps.push({ op: "remount", target, flags: MS.BIND | MS.REMOUNT | opts.flags, clear: opts.cleared });
    }
    return [...steps, ...propagate];
  }
  if (!m.type) throw new ConfigError(`${where}.type`, "is required for a mount that is not a bind mount");
  return [
    {
      op: "mount",
      source: m.source ?? m.type,
      target,
      fstype: m.type,
      flags: opts.flags,
      data: withMountLabel(config, m.type, opts.data),
      file: false,
      copyUp: opts.copyUp,
    },
    ...propagate,
  ];
}

// cgroup v1 (and hybrid): a tmpfs holding one bind of the container's own
// cgroup per hierarchy, as runc does; cgroup v2: a bind of its cgroup.
function planCgroupMount(target: string, flags: number, cgroup: CgroupState): RootfsStep[] {
  const bindFlags = MS.BIND | MS.REMOUNT | flags | MS.NOSUID | MS.NODEV | MS.NOEXEC;
  const single = cgroup.dirs.length === 1 ? cgroup.dirs[0] : undefined;
  if (single && single.mountpoint === "/sys/fs/cgroup") {
    return [
      { op: "mount", source: single.dir, target, fstype: "", flags: MS.BIND, data: "", file: false },
      { op: "remount", target, flags: bindFlags },
    ];
  }
  const steps: RootfsStep[] = [
    {
      op: "mount",
      source: "tmpfs",
      target,
      fstype: "tmpfs",
      flags: flags & ~MS.RDONLY,
      data: "mode=755",
      file: false,
    },
  ];
  for (const { dir, mountpoint } of cgroup.dirs) {
    const name = posix.basename(mountpoint);
    const sub = posix.join(target, name);
    steps.push({ op: "mount", source: dir, target: sub, fstype: "", flags: MS.BIND, data: "", file: false });
    for (const alias of name.split(",")) {
      if (alias !== name) steps.push({ op: "symlink", target: name, path: posix.join(target, alias) });
    }
  }
  // One mount_setattr for the tmpfs and every bind below it (the MS_ and
  // MOUNT_ATTR_ values of these four flags are the same).
  const set = (flags & MS.RDONLY) | MS.NOSUID | MS.NODEV | MS.NOEXEC;
  steps.push({ op: "setattr", target, set, clr: 0 });
  return steps;
}

const DEVICE_TYPE = { c: S_IFCHR, u: S_IFCHR, b: S_IFBLK, p: S_IFIFO } as const;

function planDevices(config: Config): InitPlan["devices"] {
  return (config.linux?.devices ?? []).map((d, i) => {
    const needsNumbers = d.type !== "p";
    if (needsNumbers && (d.major === undefined || d.minor === undefined)) {
      throw new ConfigError(`linux.devices[${i}]`, `a ${d.type} device needs major and minor`);
    }
    if (d.path.split("/").includes(".."))
      throw new ConfigError(`linux.devices[${i}].path`, "must not contain ..");
    return {
      path: posix.normalize(d.path),
      mode: DEVICE_TYPE[d.type] | ((d.fileMode ?? 0o666) & 0o7777),
      major: d.major ?? 0,
      minor: d.minor ?? 0,
      uid: d.uid ?? 0,
      gid: d.gid ?? 0,
    };
  });
}

export interface PlanInputs {
  readonly config: Config;
  readonly bundle: string;
  readonly rootfs: string;
  readonly cgroup: CgroupState;
  readonly namespaces: NamespacePlan;
  /** create's --no-pivot and --no-new-keyring, and the container id the keyring is named after. */
  readonly id: string;
  readonly noPivot: boolean;
  readonly noNewKeyring: boolean;
}

/** Everything but how to join the cgroup, which is known once it exists. */
export function planInit(inputs: PlanInputs): Omit<InitPlan, "cgroupJoinCount"> {
  const { config, bundle, rootfs, cgroup, namespaces } = inputs;
  const mounts = config.mounts ?? [];
  const steps = mounts.flatMap((m, i) => planMount(config, m, i, bundle, cgroup));
  const devBound = mounts.some((m) => withSlash(m.destination) === "/dev" && isBind(m));
  const propagation = config.linux?.rootfsPropagation;
  return {
    rootfs,
    noPivot: inputs.noPivot,
    rootPropagation: propagation ? (PROPAGATION[propagation] ?? 0) : MS.SLAVE | MS.REC,
    configuredPropagation: propagation ? (PROPAGATION[propagation] ?? 0) : null,
    readonlyRoot: config.root.readonly ?? false,
    steps,
    setupDev: !devBound,
    devices: planDevices(config),
    hostname: config.hostname ?? null,
    sysctl: planSysctl(config),
    execLabels: planExecLabels(config),
    domainname: config.domainname ?? null,
    maskedPaths: config.linux?.maskedPaths ?? [],
    readonlyPaths: config.linux?.readonlyPaths ?? [],
    newCgroupns: namespaces.newCgroupns,
    capLast: capLast(),
    process: planProcess(config, inputs.noNewKeyring ? null : inputs.id),
  };
}

function capLast(): number {
  return Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8"));
}
