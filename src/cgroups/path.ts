// Where a container's cgroup lives in each hierarchy.
import { posix } from "node:path";
import { ConfigError } from "../oci/errors.ts";
import type { Hierarchy } from "./hierarchy.ts";

/** Parent of containers whose config names no cgroupsPath. */
export const DEFAULT_PARENT = "/bunc";

/**
 * The cgroup path inside a hierarchy: absolute cgroupsPath as given, a
 * relative one under the runtime's own cgroup (the spec leaves this to the
 * runtime), none: /bunc/<id>. Throws on a path that climbs with "..".
 */
export function cgroupPathFor(cgroupsPath: string | undefined, id: string, h: Hierarchy): string {
  const wanted = cgroupsPath || `${DEFAULT_PARENT}/${id}`;
  if (wanted.split("/").includes(".."))
    throw new ConfigError("linux.cgroupsPath", `must not contain ".." (${JSON.stringify(wanted)})`);
  if (wanted.includes(":"))
    throw new ConfigError(
      "linux.cgroupsPath",
      `systemd "slice:prefix:name" paths need --systemd-cgroup, which bunc does not support yet (${JSON.stringify(wanted)})`,
    );
  return wanted.startsWith("/") ? posix.normalize(wanted) : posix.join(h.ownPath, wanted);
}

/** The directory on the host for a cgroup path, or undefined when the mount does not show it. */
export function dirFor(h: Hierarchy, cgroupPath: string): string | undefined {
  const rel = posix.relative(h.mountRoot, cgroupPath);
  if (rel === ".." || rel.startsWith("../")) return undefined;
  return posix.join(h.mountpoint, rel);
}
