// How an unprivileged caller gets a new user namespace mapped: its own id
// alone it may write itself (gid_map only once setgroups is denied); any
// other id must come from its ranges in /etc/subuid or /etc/subgid, written
// by the setuid newuidmap and newgidmap (Debian's uidmap package).
import { existsSync, readFileSync } from "node:fs";
import { ConfigError } from "../oci/errors.ts";
import { passwdEntries, records } from "../sys/passwd.ts";

export type Mapping = { containerID: number; hostID: number; size: number };

export interface MapWriter {
  /** newuidmap or newgidmap; null: the map is written directly. */
  readonly helper: string | null;
  /** A direct gid_map write by an unprivileged caller: setgroups is denied first. */
  readonly denySetgroups: boolean;
}

const HELPER_DIRS = ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"];

export const readText = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "");

/** The caller's user name, for its /etc/subuid and /etc/subgid lines. */
export const callerName = (): string | undefined =>
  passwdEntries(readText("/etc/passwd")).find((e) => e.uid === (process.geteuid?.() ?? 0))?.name;

/** The caller's subordinate ranges from /etc/subuid or /etc/subgid, listed by name or by number. */
export function subordinateRanges(text: string, name: string | undefined, id: number): [number, number][] {
  return records(text).flatMap(([owner, start, count]) =>
    (owner === name || owner === String(id)) && /^\d+$/.test(start ?? "") && /^\d+$/.test(count ?? "")
      ? [[Number(start), Number(count)] as [number, number]]
      : [],
  );
}

/**
 * How to write one map of a new user namespace: directly for root (also
 * root of a user namespace) and for an unprivileged caller's own id alone;
 * else through the helper, after checking every range is the caller's.
 */
export function mapWriter(
  kind: "uid" | "gid",
  maps: readonly Mapping[],
  caller: { euid: number; id: number },
): MapWriter {
  if (caller.euid === 0) return { helper: null, denySetgroups: false };
  const only = maps.length === 1 ? maps[0] : undefined;
  if (only && only.hostID === caller.id && only.size === 1)
    return { helper: null, denySetgroups: kind === "gid" };
  const field = `linux.${kind}Mappings`;
  const file = `/etc/sub${kind}`;
  const name = callerName();
  const ranges = subordinateRanges(readText(file), name, caller.euid);
  maps.forEach((m, i) => {
    const own = m.hostID === caller.id && m.size === 1;
    const inRange = ranges.some(([start, count]) => m.hostID >= start && m.hostID + m.size <= start + count);
    if (!own && !inRange)
      throw new ConfigError(
        `${field}[${i}]`,
        `host ${kind}s ${m.hostID}-${m.hostID + m.size - 1} are neither ${kind} ${caller.id} (the caller's own) nor in ${name ?? caller.euid}'s ranges in ${file}${ranges.length ? ` (${ranges.map(([s, c]) => `${s}-${s + c - 1}`).join(", ")})` : ", which has none"}`,
      );
  });
  const tool = kind === "uid" ? "newuidmap" : "newgidmap";
  const helper = HELPER_DIRS.map((d) => `${d}/${tool}`).find((p) => existsSync(p));
  if (!helper)
    throw new ConfigError(
      field,
      `mapping more than the caller's own ${kind} needs ${tool}, which is not installed (Debian: uidmap)`,
    );
  return { helper, denySetgroups: false };
}
