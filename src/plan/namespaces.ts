// linux.namespaces -> clone flags for the new ones and open fds for the ones
// joined by path (user first, as the kernel requires for ownership).
import { type Config, type NamespaceType, NamespaceType as NamespaceTypeSchema } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";
import { CLONE, O } from "../sys/constants.ts";
import { sys } from "../sys/lib.ts";
import { tryOpen } from "../sys/open.ts";

import { euid } from "../sys/rootless.ts";
import { planUserns, type UsernsPlan } from "./userns.ts";

const FLAG: Record<NamespaceType, number> = {
  pid: CLONE.NEWPID,
  network: CLONE.NEWNET,
  mount: CLONE.NEWNS,
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  user: CLONE.NEWUSER,
  cgroup: CLONE.NEWCGROUP,
  time: CLONE.NEWTIME,
};

/** The namespace types bunc can create or join: every one of the schema's, for `features`. */
export const SUPPORTED_NAMESPACES: readonly NamespaceType[] = [...NamespaceTypeSchema.options].sort();

export interface NamespacePlan {
  /** New namespaces made by clone; cgroup is left out: the init unshares it after joining its cgroup. */
  readonly cloneFlags: number;
  readonly joins: readonly { readonly fd: number; readonly type: number }[];
  readonly newCgroupns: boolean;
  /** /proc/self/timens_offsets text for a new time namespace (made at exec, not by clone), or null. */
  readonly timeOffsets: string | null;
  /** uid_map and gid_map text for a new user namespace. */
  readonly userns: UsernsPlan | null;
  /** A user namespace is joined by path. */
  readonly joinsUserns: boolean;
}

export function planNamespaces(config: Config): NamespacePlan {
  const list = config.linux?.namespaces ?? [];
  const seen = new Set<string>();
  let cloneFlags = 0;
  let newCgroupns = false;
  let newTimens = false;
  const wanted: { path: string; type: number; name: NamespaceType; where: string }[] = [];
  list.forEach((ns, i) => {
    const where = `linux.namespaces[${i}]`;
    if (seen.has(ns.type)) throw new ConfigError(`${where}.type`, `namespace ${ns.type} is listed twice`);
    seen.add(ns.type);
    if (ns.path && ns.type === "mount") {
      // The init builds the root, pivots and unmounts in its mount namespace:
      // in a joined one that would be done to someone else's processes.
      throw new ConfigError(
        `${where}.path`,
        "joining a mount namespace is not supported; the container needs its own",
      );
    }
    if (ns.path) wanted.push({ path: ns.path, type: FLAG[ns.type], name: ns.type, where: `${where}.path` });
    else if (ns.type === "cgroup") newCgroupns = true;
    else if (ns.type === "time") newTimens = true;
    else cloneFlags |= FLAG[ns.type];
  });
  if (!seen.has("mount"))
    throw new ConfigError("linux.namespaces", "a mount namespace is required to set up the rootfs");
  if (config.hostname && !seen.has("uts")) {
    throw new ConfigError("hostname", "cannot set a hostname without a uts namespace");
  }
  if (config.domainname && !seen.has("uts")) {
    throw new ConfigError("domainname", "cannot set a domainname without a uts namespace");
  }
  const newUserns = (cloneFlags & CLONE.NEWUSER) !== 0;
  if (!newUserns && (config.linux?.uidMappings?.length || config.linux?.gidMappings?.length)) {
    throw new ConfigError(
      config.linux?.uidMappings?.length ? "linux.uidMappings" : "linux.gidMappings",
      "needs a new user namespace in linux.namespaces",
    );
  }
  if (!newUserns && !wanted.some((w) => w.name === "user") && euid() !== 0)
    throw new ConfigError(
      "linux.namespaces",
      `bunc runs as uid ${euid()}, not root: the container needs a user namespace of its own (bunc spec --rootless writes one)`,
    );
  const userns = newUserns ? planUserns(config) : null;
  const offsets = Object.entries(config.linux?.timeOffsets ?? {});
  if (offsets.length && !newTimens)
    throw new ConfigError("linux.timeOffsets", "needs a new time namespace in linux.namespaces");
  const timeOffsets = newTimens
    ? offsets.map(([clock, o]) => `${clock} ${o.secs} ${o.nanosecs}\n`).join("")
    : null;
  // setns into the user namespace first: it decides what the others may do.
  wanted.sort((a, b) => Number(b.type === CLONE.NEWUSER) - Number(a.type === CLONE.NEWUSER));
  const joins: { fd: number; type: number }[] = [];
  try {
    for (const w of wanted) {
      const fd = tryOpen(w.path, O.RDONLY);
      if (fd < 0) throw new ConfigError(w.where, `cannot open ${w.path}: ${sys.bunc_strerror(-fd)}`);
      joins.push({ fd, type: w.type });
      if (sys.bunc_ns_type(fd) !== w.type)
        throw new ConfigError(w.where, `${w.path} is not a ${w.name} namespace`);
    }
  } catch (e) {
    for (const j of joins) sys.bunc_close(j.fd);
    throw e;
  }
  const joinsUserns = joins.some((j) => j.type === CLONE.NEWUSER);
  return { cloneFlags, joins, newCgroupns, userns, timeOffsets, joinsUserns };
}

export function closeJoins(ns: NamespacePlan): void {
  for (const j of ns.joins) sys.bunc_close(j.fd);
}
