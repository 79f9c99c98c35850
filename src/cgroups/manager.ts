// A container's cgroup: one directory per mounted hierarchy (v1, v2 or
// both), created at create, joined by the init just before it execs, and
// removed at delete. Resource limits other than devices come later.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { dirname, posix } from "node:path";
import type { DeviceRule } from "../spec/config.ts";
import type { CgroupState } from "../spec/state.ts";
import { deviceEntries, v1Line } from "./devices.ts";
import { type Hierarchy, hostHierarchies } from "./hierarchy.ts";
import { cgroupPathFor, DEFAULT_PARENT, dirFor } from "./path.ts";

function mkdirTracked(dir: string, made: string[]): void {
  if (existsSync(dir)) return;
  mkdirTracked(dirname(dir), made);
  mkdirSync(dir);
  made.push(dir);
}

// A new v1 cpuset cgroup starts with no cpus or mems; nothing can join it
// until they are copied from its parent.
function fillCpuset(dir: string): void {
  for (const file of ["cpuset.cpus", "cpuset.mems"]) {
    if (readFileSync(`${dir}/${file}`, "utf8").trim() === "") {
      writeFileSync(`${dir}/${file}`, readFileSync(`${dirname(dir)}/${file}`, "utf8").trim());
    }
  }
}

function applyDevices(dir: string, rules: readonly DeviceRule[] | undefined): void {
  for (const e of deviceEntries(rules)) {
    writeFileSync(`${dir}/${e.allow ? "devices.allow" : "devices.deny"}`, v1Line(e));
  }
}

/** Where the container's cgroup goes in every hierarchy; creates nothing. */
export function planCgroup(
  id: string,
  cgroupsPath: string | undefined,
  hierarchies = hostHierarchies(),
): CgroupState {
  if (!hierarchies.some((h) => h.controllers.includes("devices"))) {
    throw new Error(
      "linux.resources.devices: this host has no v1 devices controller; the cgroup v2 eBPF device filter is not supported by bunc yet",
    );
  }
  let path = "";
  const dirs = hierarchies.map((h) => {
    path = cgroupPathFor(cgroupsPath, id, h);
    const dir = dirFor(h, path);
    if (!dir) throw new Error(`linux.cgroupsPath: ${path} is outside the ${h.mountpoint} mount`);
    return { dir, mountpoint: h.mountpoint, controllers: h.controllers };
  });
  return { path, dirs: dirs.map(({ dir, mountpoint }) => ({ dir, mountpoint })) };
}

const hasController = (mountpoint: string, name: string, hierarchies: readonly Hierarchy[]) =>
  hierarchies.some((h) => h.mountpoint === mountpoint && h.controllers.includes(name));

/** Makes the planned directories and applies the device rules; undoes its own work on failure. */
export function createCgroup(
  cg: CgroupState,
  devices: readonly DeviceRule[] | undefined,
  hierarchies = hostHierarchies(),
): void {
  const made: string[] = [];
  try {
    for (const { dir, mountpoint } of cg.dirs) {
      const before = made.length;
      mkdirTracked(dir, made);
      if (made.length === before && readFileSync(`${dir}/cgroup.procs`, "utf8").trim() !== "") {
        throw new Error(`linux.cgroupsPath: cgroup ${dir} is in use by other processes`);
      }
      if (hasController(mountpoint, "cpuset", hierarchies)) for (const d of made.slice(before)) fillCpuset(d);
      if (hasController(mountpoint, "devices", hierarchies)) applyDevices(dir, devices);
    }
  } catch (e) {
    for (const d of made.reverse()) rmdirSync(d);
    throw e;
  }
}

export function cgroupPids(cg: CgroupState): number[] {
  const pids = new Set<number>();
  for (const { dir } of cg.dirs) {
    let text = "";
    try {
      text = readFileSync(`${dir}/cgroup.procs`, "utf8");
    } catch {
      continue;
    }
    for (const l of text.split("\n")) if (l) pids.add(Number(l));
  }
  return [...pids];
}

function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true }))
    if (e.isDirectory()) removeTree(`${dir}/${e.name}`);
  rmdirSync(dir);
}

/** Removes the cgroup (and any the container made below it), waiting briefly for exiting processes. */
export async function destroyCgroup(cg: CgroupState): Promise<void> {
  for (const { dir } of cg.dirs) {
    for (let attempt = 0; ; attempt++) {
      try {
        removeTree(dir);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EBUSY" || attempt >= 200) throw e;
        await Bun.sleep(5);
      }
    }
    // The default parent is ours; leave it only while other containers use it.
    if (posix.dirname(cg.path) === DEFAULT_PARENT) {
      try {
        rmdirSync(dirname(dir));
      } catch {}
    }
  }
}
