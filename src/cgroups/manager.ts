// A container's cgroup: one directory per mounted hierarchy (v1, v2 or
// both), created at create, joined by the init just before it execs, and
// removed at delete. Resource limits other than devices come later.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { dirname, posix } from "node:path";
import type { DeviceRule } from "../oci/config.ts";
import type { CgroupState, Remains } from "../oci/state.ts";
import { O } from "../sys/constants.ts";

import { sys } from "../sys/lib.ts";
import { openPath } from "../sys/open.ts";

import { deviceEntries, v1Line } from "./devices.ts";
import { attachDeviceFilter } from "./ebpf.ts";
import { hostHierarchies } from "./hierarchy.ts";
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

/** Where the container's cgroup goes in every hierarchy; creates nothing. */
export function planCgroup(
  id: string,
  cgroupsPath: string | undefined,
  hierarchies = hostHierarchies(),
): CgroupState {
  let path = "";
  const dirs = hierarchies.map((h) => {
    path = cgroupPathFor(cgroupsPath, id, h);
    const dir = dirFor(h, path);
    if (!dir) throw new Error(`linux.cgroupsPath: ${path} is outside the ${h.mountpoint} mount`);
    return { dir, mountpoint: h.mountpoint, version: h.version, controllers: [...h.controllers] };
  });
  return { path, dirs };
}

/**
 * Makes the planned directories of one cgroup version (copying cpuset cpus/mems into new ones);
 * returns what it made, for removeMade. Undoes its own work on failure.
 */
export function makeCgroupDirs(cg: CgroupState, version: 1 | 2): string[] {
  const made: string[] = [];
  try {
    for (const { dir, controllers } of cg.dirs.filter((d) => d.version === version)) {
      const before = made.length;
      mkdirTracked(dir, made);
      if (made.length === before && readFileSync(`${dir}/cgroup.procs`, "utf8").trim() !== "") {
        throw new Error(`linux.cgroupsPath: cgroup ${dir} is in use by other processes`);
      }
      if (controllers.includes("cpuset")) for (const d of made.slice(before)) fillCpuset(d);
    }
    return made;
  } catch (e) {
    for (const d of made.reverse()) rmdirSync(d);
    throw e;
  }
}

/**
 * Device rules go to the v1 devices controller and, as an eBPF filter, to
 * the cgroup2 directory (on a hybrid host both apply the same rules).
 */
export function applyDeviceRules(cg: CgroupState, rules: readonly DeviceRule[] | undefined): void {
  const entries = deviceEntries(rules);
  for (const { dir, version, controllers } of cg.dirs) {
    if (version === 1 && controllers.includes("devices")) {
      for (const e of entries)
        writeFileSync(`${dir}/${e.allow ? "devices.allow" : "devices.deny"}`, v1Line(e));
    } else if (version === 2 && rules?.length) {
      const fd = openPath(dir, O.RDONLY | O.DIRECTORY, `open ${dir}`);
      try {
        attachDeviceFilter(fd, entries);
      } finally {
        sys.bunc_close(fd);
      }
    }
  }
}

/**
 * How the init joins its cgroup. A cgroup.procs write makes the kernel lock
 * every thread group, which waits for an RCU grace period (~10 ms). A v1
 * `tasks` write of "0" moves just the calling thread, without that lock,
 * and execve then leaves only that thread: that is the late join, just
 * before execve. A cgroup2 directory without memory or pids controllers
 * cannot hurt a tiny limit, so the init is simply started in it
 * (CLONE_INTO_CGROUP, also lock-free); with them, the init joins late
 * through cgroup.procs and pays the grace period.
 */
export function joinPlan(cg: CgroupState): { late: string[]; startIn: string | null } {
  const late: string[] = [];
  let startIn: string | null = null;
  for (const { dir, version } of cg.dirs) {
    if (version === 1) {
      late.push(`${dir}/tasks`);
      continue;
    }
    const controllers = readFileSync(`${dir}/cgroup.controllers`, "utf8").split(/\s+/);
    if (controllers.includes("memory") || controllers.includes("pids")) late.push(`${dir}/cgroup.procs`);
    else startIn = dir;
  }
  return { late, startIn };
}

/** What removing or signalling a cgroup needs: also readable from a damaged state. */
type CgroupDirs = Remains["cgroup"];

/**
 * SIGKILLs every process in the cgroup at once through a cgroup2
 * cgroup.kill, which no fork can outrun; false where there is none.
 */
export function killCgroup(cg: CgroupDirs): boolean {
  const file = cg.dirs.map(({ dir }) => `${dir}/cgroup.kill`).find((f) => existsSync(f));
  if (!file) return false;
  writeFileSync(file, "1");
  return true;
}

export function cgroupPids(cg: CgroupDirs): number[] {
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
  try {
    rmdirSync(dir);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    if (code !== "EBUSY" && code !== "ENOTEMPTY") throw e;
  }
  // Cgroups the container made below its own go first.
  for (const e of readdirSync(dir, { withFileTypes: true }))
    if (e.isDirectory()) removeTree(`${dir}/${e.name}`);
  rmdirSync(dir);
}

async function rmdirRetrying(remove: () => void): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      remove();
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EBUSY" || attempt >= 200) throw e;
      await Bun.sleep(5);
    }
  }
}

/** Removes directories makeCgroupDirs made (after a failed create). */
export async function removeMade(made: readonly string[]): Promise<void> {
  for (const d of [...made].reverse()) await rmdirRetrying(() => removeTree(d));
}

/** Removes the cgroup (and any the container made below it), waiting briefly for exiting processes. */
export async function destroyCgroup(cg: CgroupDirs): Promise<void> {
  for (const { dir } of cg.dirs) {
    await rmdirRetrying(() => removeTree(dir));
    // The default parent is ours; leave it only while other containers use it.
    if (posix.dirname(cg.path) === DEFAULT_PARENT) {
      try {
        rmdirSync(dirname(dir));
      } catch {}
    }
  }
}
