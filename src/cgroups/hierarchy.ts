// The cgroup hierarchies mounted on this host, read from mountinfo: v1 (one
// per controller set), a cgroup2 mount, or both (the hybrid layout).
import { readFileSync } from "node:fs";
import { parseMountinfo } from "../sys/mountinfo.ts";

export interface Hierarchy {
  readonly version: 1 | 2;
  readonly mountpoint: string;
  /** Path inside the hierarchy that the mount shows at its mountpoint. */
  readonly mountRoot: string;
  /** v1 controllers (and name=... for named hierarchies); empty for v2. */
  readonly controllers: readonly string[];
  /** This process's cgroup in the hierarchy, from /proc/self/cgroup. */
  readonly ownPath: string;
}

// v1 super options that are not controllers.
const V1_OPTIONS = new Set([
  "rw",
  "ro",
  "relatime",
  "noatime",
  "nosuid",
  "nodev",
  "noexec",
  "xattr",
  "clone_children",
  "noprefix",
  "cpuset_v2_mode",
  "favordynmods",
]);

export function parseHierarchies(mountinfo: string, selfCgroup: string): Hierarchy[] {
  const own = new Map<string, string>();
  for (const line of selfCgroup.split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) own.set(m[1] ?? "", m[2] ?? "/");
  }
  const seen = new Set<string>();
  const out: Hierarchy[] = [];
  for (const { root: mountRoot, mountpoint, fstype, superOptions } of parseMountinfo(mountinfo)) {
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    if (fstype === "cgroup2") {
      if (seen.has("")) continue;
      seen.add("");
      out.push({ version: 2, mountpoint, mountRoot, controllers: [], ownPath: own.get("") ?? "/" });
      continue;
    }
    const controllers = superOptions.filter(
      (o) => o && !V1_OPTIONS.has(o) && !o.startsWith("release_agent="),
    );
    const key = [...controllers].sort().join(",");
    if (controllers.length === 0 || seen.has(key)) continue;
    seen.add(key);
    const ownPath = [...own.entries()].find(([k]) => k.split(",").sort().join(",") === key)?.[1] ?? "/";
    out.push({ version: 1, mountpoint, mountRoot, controllers, ownPath });
  }
  return out;
}

let host: Hierarchy[] | undefined;

/** The host's hierarchies, read once per command (`run` plans and deletes with the same). */
export function hostHierarchies(): Hierarchy[] {
  host ??= parseHierarchies(
    readFileSync("/proc/self/mountinfo", "utf8"),
    readFileSync("/proc/self/cgroup", "utf8"),
  );
  return host;
}
