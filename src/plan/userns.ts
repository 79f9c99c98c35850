// linux.uidMappings / gidMappings of a new user namespace -> the uid_map and
// gid_map text the runtime writes while the child waits.
import type { Config } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";
import { euid } from "../sys/rootless.ts";
import {
  callerName,
  type Mapping,
  type MapWriter,
  mapWriter,
  readText,
  subordinateRanges,
} from "./idmapHelpers.ts";

export interface UsernsPlan {
  readonly uidMap: string;
  readonly gidMap: string;
  readonly uidWriter: MapWriter;
  readonly gidWriter: MapWriter;
}

const mapped = (maps: readonly Mapping[], id: number) =>
  maps.some((m) => id >= m.containerID && id < m.containerID + m.size);

export function mapText(maps: readonly Mapping[], field: string): string {
  if (maps.length === 0) throw new ConfigError(field, "a new user namespace needs mappings");
  if (maps.length > 340) throw new ConfigError(field, "the kernel takes at most 340 mappings");
  maps.forEach((m, i) => {
    if (m.size < 1) throw new ConfigError(`${field}[${i}].size`, "must be at least 1");
    // (uid_t)-1 is no id at all: the kernel refuses a map that reaches it.
    if (Math.max(m.containerID, m.hostID) + m.size > 0xffffffff)
      throw new ConfigError(`${field}[${i}]`, "reaches 4294967295, which is not a valid id");
  });
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

// A new user namespace with no mappings at all (what `crun spec --rootless`
// writes) maps the caller's own uid and gid to root, as crun does.
const callerAsRoot = (id: number): Mapping[] => [{ containerID: 0, hostID: id, size: 1 }];

function mappingsOf(config: Config): { uids: readonly Mapping[]; gids: readonly Mapping[] } {
  const given = config.linux?.uidMappings?.length || config.linux?.gidMappings?.length;
  return {
    uids: given ? (config.linux?.uidMappings ?? []) : callerAsRoot(process.getuid?.() ?? 0),
    gids: given ? (config.linux?.gidMappings ?? []) : callerAsRoot(process.getgid?.() ?? 0),
  };
}

/** Whether a container id is mapped in the new user namespace the config asks for. */
export function isMapped(config: Config, kind: "uid" | "gid", id: number): boolean {
  const { uids, gids } = mappingsOf(config);
  return mapped(kind === "uid" ? uids : gids, id);
}

/** uid_map and gid_map for a new user namespace; refuses ids the process would need but the mappings lack. */
export function planUserns(config: Config): UsernsPlan {
  const { uids, gids } = mappingsOf(config);
  const uidMap = mapText(uids, "linux.uidMappings");
  const gidMap = mapText(gids, "linux.gidMappings");
  // The init runs as the namespace's root until the final exec.
  if (!mapped(uids, 0))
    throw new ConfigError("linux.uidMappings", "must map container uid 0, which the init runs as");
  if (!mapped(gids, 0))
    throw new ConfigError("linux.gidMappings", "must map container gid 0, which the init runs as");
  const user = config.process.user;
  if (!mapped(uids, user.uid))
    throw new ConfigError("process.user.uid", `${user.uid} is not in linux.uidMappings`);
  if (!mapped(gids, user.gid))
    throw new ConfigError("process.user.gid", `${user.gid} is not in linux.gidMappings`);
  (user.additionalGids ?? []).forEach((g, i) => {
    if (!mapped(gids, g))
      throw new ConfigError(`process.user.additionalGids[${i}]`, `${g} is not in linux.gidMappings`);
  });
  const uidWriter = mapWriter("uid", uids, { euid: euid(), id: process.getuid?.() ?? 0 });
  const gidWriter = mapWriter("gid", gids, { euid: euid(), id: process.getgid?.() ?? 0 });
  if (gidWriter.denySetgroups && user.additionalGids?.length)
    throw new ConfigError(
      "process.user.additionalGids",
      "needs setgroups, which a user namespace an unprivileged caller maps itself must deny (map a range from /etc/subgid, written by newgidmap)",
    );
  return { uidMap, gidMap, uidWriter, gidWriter };
}

/**
 * A user namespace mapping root to the caller and then every id of its
 * /etc/subuid and /etc/subgid ranges: wide enough to own whatever any of
 * its containers made (for removing it).
 */
export function callerWideUserns(): UsernsPlan {
  const wide = (kind: "uid" | "gid", own: number): Mapping[] => {
    const name = callerName();
    let next = 1;
    const ranges = subordinateRanges(readText(`/etc/sub${kind}`), name, euid()).map(([start, count]) => {
      const m = { containerID: next, hostID: start, size: count };
      next += count;
      return m;
    });
    return [...callerAsRoot(own), ...ranges];
  };
  const uids = wide("uid", process.getuid?.() ?? 0);
  const gids = wide("gid", process.getgid?.() ?? 0);
  return {
    uidMap: mapText(uids, "the caller's /etc/subuid"),
    gidMap: mapText(gids, "the caller's /etc/subgid"),
    uidWriter: mapWriter("uid", uids, { euid: euid(), id: process.getuid?.() ?? 0 }),
    gidWriter: mapWriter("gid", gids, { euid: euid(), id: process.getgid?.() ?? 0 }),
  };
}
