// Where a container's cgroup lives in each hierarchy.
import { existsSync } from "node:fs";
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
      `systemd "slice:prefix:name" paths need --systemd-cgroup (${JSON.stringify(wanted)})`,
    );
  return wanted.startsWith("/") ? posix.normalize(wanted) : posix.join(h.ownPath, wanted);
}

/** The directory on the host for a cgroup path, or undefined when the mount does not show it. */
export function dirFor(h: Hierarchy, cgroupPath: string): string | undefined {
  const rel = posix.relative(h.mountRoot, cgroupPath);
  if (rel === ".." || rel.startsWith("../")) return undefined;
  return posix.join(h.mountpoint, rel);
}

/** systemd's slice name as its cgroup path: "a-b.slice" is /a.slice/a-b.slice, "-.slice" the root. */
function expandSlice(slice: string, field: string): string {
  if (slice === "" || slice === "-.slice") return "";
  if (!slice.endsWith(".slice") || slice.includes("/"))
    throw new ConfigError(field, `${JSON.stringify(slice)} is not a systemd slice name`);
  const parts = slice.slice(0, -".slice".length).split("-");
  if (parts.some((p) => p === ""))
    throw new ConfigError(field, `${JSON.stringify(slice)} is not a valid slice name`);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join("-")}.slice`).join("");
}

/** Whether systemd runs this host (its runtime directory exists), as sd_booted() decides. */
export const systemdRunning = (): boolean => existsSync("/run/systemd/system");

/**
 * --systemd-cgroup: the "slice:prefix:name" cgroupsPath engines pass with
 * it, as the cgroupfs path systemd would give the unit. Only where no
 * systemd runs: with one, the unit must be made through its D-Bus API.
 */
export function systemdCgroupsPath(cgroupsPath: string | undefined, id: string): string {
  const field = "linux.cgroupsPath";
  if (systemdRunning())
    throw new Error(
      "--systemd-cgroup: systemd runs this host, and bunc does not yet make units through its D-Bus API; use the cgroupfs driver",
    );
  const wanted = cgroupsPath || `system.slice:bunc:${id}`;
  const parts = wanted.split(":");
  if (parts.length !== 3)
    throw new ConfigError(
      field,
      `with --systemd-cgroup it must be slice:prefix:name, not ${JSON.stringify(wanted)}`,
    );
  const [slice = "", prefix = "", name = ""] = parts;
  if (!name || name.includes("/")) throw new ConfigError(field, `${JSON.stringify(name)} is not a unit name`);
  const unit = name.endsWith(".slice") ? name : `${prefix ? `${prefix}-` : ""}${name}.scope`;
  return `${expandSlice(slice, field)}/${unit}`;
}
