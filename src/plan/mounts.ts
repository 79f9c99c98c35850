// config.mounts -> the init's rootfs steps: every mount flag, remount,
// propagation change and id mapping decided here, each step naming its field.
import { NOTIFY_DIR } from "./notify.ts";
import { statSync } from "node:fs";
import { posix } from "node:path";
import type { Config, Mount } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";
import type { CgroupState } from "../oci/state.ts";
import type { RootfsStep } from "../protocol/plan.ts";
import { MS } from "../sys/constants.ts";
import { withMountLabel } from "./lsm.ts";
import { type ParsedOptions, parseOptions } from "./mountOptions.ts";
import type { NamespacePlan } from "./namespaces.ts";
import { isMapped, mapText } from "./userns.ts";

const inContainer = (p: string) => (p.startsWith("/") ? posix.normalize(p) : posix.normalize(`/${p}`));

/** A bind mount: by its type or by a bind/rbind option. */
const isBind = (m: Mount, opts: ParsedOptions) => m.type === "bind" || opts.bind;

function planIdmap(m: Mount, field: string, option: "idmap" | "ridmap", ns: NamespacePlan) {
  const recursive = option === "ridmap";
  if (m.uidMappings?.length || m.gidMappings?.length) {
    return {
      recursive,
      uidMap: mapText(m.uidMappings ?? [], `${field}.uidMappings`),
      gidMap: mapText(m.gidMappings ?? [], `${field}.gidMappings`),
    };
  }
  // The container's own mappings, in a user namespace of the runtime's
  // making: the same ids, known before the container exists.
  if (!ns.userns) {
    throw new ConfigError(
      `${field}.uidMappings`,
      `${option} needs mappings here or a new user namespace to take them from`,
    );
  }
  return { recursive, uidMap: ns.userns.uidMap, gidMap: ns.userns.gidMap };
}

function sourceIsFile(source: string, field: string): boolean {
  try {
    return !statSync(source).isDirectory();
  } catch {
    throw new ConfigError(`${field}.source`, `${source} does not exist`);
  }
}

function planMount(
  config: Config,
  m: Mount,
  field: string,
  bundle: string,
  cgroup: CgroupState,
  ns: NamespacePlan,
): RootfsStep[] {
  const target = inContainer(m.destination);
  const opts = parseOptions(m.options ?? [], `${field}.options`);
  const { set, clr } = opts.recursiveAttrs;
  const propagate: RootfsStep[] = [
    ...(set || clr ? [{ op: "setattr", field, target, set, clr } as const] : []),
    ...opts.propagation.map((flags): RootfsStep => ({ op: "remount", field, target, flags })),
  ];
  const bind = isBind(m, opts);
  if (opts.idmap && !bind)
    throw new ConfigError(`${field}.options`, `${opts.idmap} applies to bind mounts only`);
  if ((m.uidMappings?.length || m.gidMappings?.length) && !opts.idmap) {
    throw new ConfigError(`${field}.uidMappings`, "mappings of a mount need the idmap or ridmap option");
  }
  if (opts.copyUp && m.type !== "tmpfs")
    throw new ConfigError(`${field}.options`, "tmpcopyup applies to tmpfs mounts only");
  if (m.type === "cgroup") return [...planCgroupMount(field, target, opts.flags, cgroup), ...propagate];
  if (bind) {
    if (!m.source) throw new ConfigError(`${field}.source`, "a bind mount needs a source");
    const source = posix.resolve(bundle, m.source);
    const steps: RootfsStep[] = [
      {
        op: "mount",
        field,
        source,
        target,
        fstype: "",
        flags: MS.BIND | (opts.recursive ? MS.REC : 0),
        data: "",
        file: sourceIsFile(source, field),
        ...(opts.idmap ? { idmap: planIdmap(m, field, opts.idmap, ns) } : {}),
      },
    ];
    // A bind ignores all other flags: they take a remount of the new mount.
    if (opts.flags !== 0) {
      steps.push({
        op: "remount",
        field,
        target,
        flags: MS.BIND | MS.REMOUNT | opts.flags,
        clear: opts.cleared,
      });
    }
    return [...steps, ...propagate];
  }
  if (!m.type) throw new ConfigError(`${field}.type`, "is required for a mount that is not a bind mount");
  // The kernel refuses (EINVAL) an owner the mount's user namespace does not map.
  for (const o of ns.userns ? (m.options ?? []) : []) {
    const owner = /^(uid|gid)=(\d+)$/.exec(o);
    const kind = owner?.[1] as "uid" | "gid" | undefined;
    if (kind && !isMapped(config, kind, Number(owner?.[2])))
      throw new ConfigError(
        `${field}.options`,
        `${o}: ${kind} ${owner?.[2]} is not mapped in linux.${kind}Mappings`,
      );
  }
  return [
    {
      op: "mount",
      field,
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
function planCgroupMount(field: string, target: string, flags: number, cgroup: CgroupState): RootfsStep[] {
  const bindFlags = MS.BIND | MS.REMOUNT | flags | MS.NOSUID | MS.NODEV | MS.NOEXEC;
  const single = cgroup.dirs.length === 1 ? cgroup.dirs[0] : undefined;
  if (single && single.mountpoint === "/sys/fs/cgroup") {
    return [
      { op: "mount", field, source: single.dir, target, fstype: "", flags: MS.BIND, data: "", file: false },
      { op: "remount", field, target, flags: bindFlags },
    ];
  }
  const steps: RootfsStep[] = [
    {
      op: "mount",
      field,
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
    steps.push({
      op: "mount",
      field,
      source: dir,
      target: sub,
      fstype: "",
      flags: MS.BIND,
      data: "",
      file: false,
    });
    for (const alias of name.split(",")) {
      if (alias !== name) steps.push({ op: "symlink", field, target: name, path: posix.join(target, alias) });
    }
  }
  // One mount_setattr for the tmpfs and every bind below it (the MS_ and
  // MOUNT_ATTR_ values of these four flags are the same).
  const set = (flags & MS.RDONLY) | MS.NOSUID | MS.NODEV | MS.NOEXEC;
  steps.push({ op: "setattr", field, target, set, clr: 0 });
  return steps;
}

export interface MountsPlan {
  readonly steps: RootfsStep[];
  /** /dev is bound from elsewhere: no default device nodes are made in it. */
  readonly devBound: boolean;
}

/**
 * The NOTIFY_SOCKET relay's directory, read-only: its socket is bound by
 * `start`, after the init has mounted it, so the directory is not looked at
 * here (it is made once the id is reserved).
 */
function notifyMount(dir: string): RootfsStep[] {
  const field = "NOTIFY_SOCKET";
  const ro = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC;
  return [
    {
      op: "mount",
      field,
      source: dir,
      target: NOTIFY_DIR,
      fstype: "",
      flags: MS.BIND,
      data: "",
      file: false,
    },
    { op: "remount", field, target: NOTIFY_DIR, flags: MS.BIND | MS.REMOUNT | ro },
  ];
}

export function planMounts(
  config: Config,
  bundle: string,
  cgroup: CgroupState,
  ns: NamespacePlan,
  notifyDir: string | null,
): MountsPlan {
  const mounts = config.mounts ?? [];
  const steps = mounts.flatMap((m, i) => planMount(config, m, `mounts[${i}]`, bundle, cgroup, ns));
  if (notifyDir !== null) steps.push(...notifyMount(notifyDir));
  const devBound = mounts.some(
    (m, i) =>
      inContainer(m.destination) === "/dev" &&
      isBind(m, parseOptions(m.options ?? [], `mounts[${i}].options`)),
  );
  return { steps, devBound };
}
