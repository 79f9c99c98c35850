// A container's cgroup: one directory per mounted hierarchy (v1, v2 or
// both), planned before anything exists, made at create, joined by the init
// just before it execs, and removed at delete. Parents are shared with
// other containers: made if missing (another create may be making them at
// the same moment), never removed. Only the container's own directory is.
import {
  accessSync,
  constants,
  type Dirent,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { dirname, posix } from "node:path";
import { ConfigError } from "../oci/errors.ts";
import type { Resources } from "../oci/config.ts";
import type { CgroupState } from "../oci/state.ts";
import { O } from "../sys/constants.ts";
import { sys } from "../sys/lib.ts";
import { euid, rootless } from "../sys/rootless.ts";
import { openPath } from "../sys/open.ts";
import { type DeviceEntry, v1Line } from "./devices.ts";
import { type Hierarchy, hostHierarchies } from "./hierarchy.ts";
import { cgroupPathFor, DEFAULT_PARENT, dirFor } from "./path.ts";
import type { Host, Placed } from "./resources.ts";

// The planning half (linux.resources, the eBPF device filter) is loaded where
// a cgroup is made or updated: kill, pause, ps and delete never pay for it.
const resources = () => require("./resources.ts") as typeof import("./resources.ts");
const ebpf = () => require("./ebpf.ts") as typeof import("./ebpf.ts");

type Dir = CgroupState["dirs"][number];

import { type FreezerFiles, freezerFiles, isFrozen, readTrim, writeControl } from "./freezer.ts";

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code;

// A new v1 cpuset cgroup starts with no cpus or mems, and nothing can join
// it (or make a working child) until they are filled from its parent. Every
// directory on the way down is checked: a parent that a concurrent create
// made may not be filled yet.
function fillCpuset(dir: string, top: string): void {
  if (dir !== top) fillCpuset(dirname(dir), top);
  for (const file of ["cpuset.cpus", "cpuset.mems"]) {
    if (readTrim(`${dir}/${file}`) === "")
      writeFileSync(`${dir}/${file}`, readTrim(`${dirname(dir)}/${file}`));
  }
}

/** Makes dir and its missing parents; true when dir itself is new. EEXIST anywhere is success. */
function makeDir(dir: string): boolean {
  try {
    mkdirSync(dirname(dir), { recursive: true });
  } catch (e) {
    if (errno(e) !== "EEXIST") throw e;
  }
  try {
    mkdirSync(dir);
    return true;
  } catch (e) {
    if (errno(e) !== "EEXIST") throw e;
    return false;
  }
}

function inodeOf(dir: string): number | null {
  return lstatSync(dir, { throwIfNoEntry: false })?.ino ?? null;
}

function removeTree(dir: string): void {
  try {
    rmdirSync(dir);
    return;
  } catch (e) {
    const code = errno(e);
    if (code === "ENOENT") return;
    if (code !== "EBUSY" && code !== "ENOTEMPTY") throw e;
  }
  // Cgroups the container made below its own go first.
  for (const e of readdirSync(dir, { withFileTypes: true }))
    if (e.isDirectory()) removeTree(`${dir}/${e.name}`);
  rmdirSync(dir);
}

/** Whether test holds for dir or a cgroup below it (a container may make its own, with a cgroup namespace). */
function someBelow(dir: string, test: (dir: string) => boolean): boolean {
  if (test(dir)) return true;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  return entries.some((e) => e.isDirectory() && someBelow(`${dir}/${e.name}`, test));
}

// A cgroup whose last process just exited can be busy for a moment.
async function removeRetrying(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      removeTree(dir);
      return;
    } catch (e) {
      if (errno(e) !== "EBUSY" || attempt >= 200) throw e;
      await Bun.sleep(5);
    }
  }
}

/** The nearest directory at or above dir that exists. */
function nearestExisting(dir: string): string {
  let d = dir;
  while (d !== dirname(d) && !existsSync(d)) d = dirname(d);
  return d;
}

/** The deepest cgroup path that holds both a and b. */
function commonAncestor(a: string, b: string): string {
  const x = a.split("/").filter(Boolean);
  const y = b.split("/").filter(Boolean);
  let n = 0;
  while (n < x.length && n < y.length && x[n] === y[n]) n++;
  return `/${x.slice(0, n).join("/")}`;
}

const writable = (path: string) => {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * Whether an unprivileged caller may make the cgroup and move the init
 * into it: write access to the nearest existing directory on the way, and
 * (cgroup2's delegation rule) to cgroup.procs of the common ancestor of
 * its own cgroup and the new one; a directory it makes itself is its own.
 */
function mayUse(h: Hierarchy, path: string, dir: string): boolean {
  if (!writable(nearestExisting(dir))) return false;
  if (h.version !== 2) return true;
  const common = dirFor(h, commonAncestor(h.ownPath, path));
  return common !== undefined && (!existsSync(common) || writable(`${common}/cgroup.procs`));
}

/**
 * Makes a cgroup2 directory's missing parents, enabling in each parent's
 * cgroup.subtree_control the controllers the directory needs. Planning
 * checked that the nearest existing parent has them, so the ones above
 * already delegate them and nothing above it is written.
 */
function delegate(dir: string, mountpoint: string, names: readonly string[]): void {
  if (names.length === 0) return;
  const chain: string[] = [];
  for (let d = dirname(dir); d.startsWith(mountpoint); d = dirname(d)) {
    chain.unshift(d);
    if (d === mountpoint) break;
  }
  for (const d of chain) {
    makeDir(d);
    const enabled = readTrim(`${d}/cgroup.subtree_control`).split(/\s+/);
    const available = readTrim(`${d}/cgroup.controllers`).split(/\s+/);
    const wanted = names.filter((n) => !enabled.includes(n) && available.includes(n));
    if (wanted.length === 0) continue;
    try {
      writeControl(`${d}/cgroup.subtree_control`, wanted.map((n) => `+${n}`).join(" "));
    } catch (e) {
      const code = errno(e);
      throw new ConfigError(
        "linux.cgroupsPath",
        `cannot enable ${wanted.join(", ")} in ${d}/cgroup.subtree_control (${code}${code === "EBUSY" ? ": that cgroup holds processes" : ""})`,
      );
    }
  }
}

/** cgroup v1 controller names as cgroup2 knows them; "" is cgroup2's core, present in every directory. */
const V2_NAME: Record<string, string> = { cpuacct: "cpu", blkio: "io", freezer: "" };

/**
 * The controllers a cgroup2 directory has, or once made would have: those
 * its nearest existing ancestor has (create enables them on the way down).
 */
function v2Controllers(dir: string): string[] {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(`${d}/cgroup.controllers`))
      return readTrim(`${d}/cgroup.controllers`).split(/\s+/).filter(Boolean);
    if (d === "/" || d === dirname(d)) return [];
  }
}

export class CgroupInUse extends ConfigError {
  constructor(dir: string) {
    super("linux.cgroupsPath", `cgroup ${dir} is in use by other processes`);
  }
}

/** The first mounted hierarchy whose mountpoint a stored directory names. */
const hierarchyOf = (hs: readonly Hierarchy[], d: { mountpoint?: string; dir: string }) =>
  hs.find((h) => h.mountpoint === d.mountpoint) ?? hs.find((h) => d.dir.startsWith(`${h.mountpoint}/`));

export class Cgroup {
  private constructor(
    readonly path: string,
    private dirs: Dir[],
    /** The path is the container's own under bunc's default parent: no other cgroup can be there. */
    private readonly ownPath = false,
    /** Planned rootless: only the hierarchies the caller may write are in dirs. */
    private readonly unprivileged = false,
  ) {}

  /** The directories this process made (for undoing a failed create). */
  private readonly made: string[] = [];

  /**
   * Where the container's cgroup goes in every mounted hierarchy; creates
   * nothing. Rootless, only hierarchies where the caller may make it and
   * move the init into it are used (none, unless one was delegated to it),
   * and with no cgroupsPath it goes below the caller's own cgroup.
   */
  static plan(id: string, cgroupsPath: string | undefined, hierarchies = hostHierarchies()): Cgroup {
    const unprivileged = rootless();
    const wanted = cgroupsPath || (unprivileged ? `bunc/${id}` : undefined);
    let path = "";
    const dirs: Dir[] = [];
    for (const h of hierarchies) {
      const here = cgroupPathFor(wanted, id, h);
      const dir = dirFor(h, here);
      if (unprivileged && (!dir || !mayUse(h, here, dir))) {
        path ||= here;
        continue;
      }
      if (!dir) throw new ConfigError("linux.cgroupsPath", `${here} is outside the ${h.mountpoint} mount`);
      if (readTrim(`${dir}/cgroup.procs`) !== "") throw new CgroupInUse(dir);
      path = here;
      dirs.push({ dir, mountpoint: h.mountpoint, version: h.version, controllers: [...h.controllers] });
    }
    return new Cgroup(path, dirs, false, unprivileged);
  }

  /**
   * The cgroup a stored state names, checked against what the runtime
   * would have made: every directory must be the state's cgroup path in
   * its hierarchy, so a damaged or tampered state cannot point delete or
   * kill at someone else's cgroup. Directories of the path that exist on
   * disk but that the state does not list are included (for removal).
   */
  static fromState(
    id: string,
    state: { path: string; dirs: readonly Partial<Dir>[] },
    hierarchies = hostHierarchies(),
  ): Cgroup {
    const path = state.path;
    if (!path.startsWith("/") || path === "/" || posix.normalize(path) !== path || path.includes("/../")) {
      throw new Error(
        `state of container ${id} names the cgroup path ${JSON.stringify(path)}, which bunc never makes`,
      );
    }
    const dirs: Dir[] = [];
    for (const d of state.dirs) {
      const h = d.dir === undefined ? undefined : hierarchyOf(hierarchies, { ...d, dir: d.dir });
      if (!h || d.dir === undefined || dirFor(h, path) !== d.dir) {
        throw new Error(
          `state of container ${id} names the cgroup directory ${JSON.stringify(d.dir)}, which is not its cgroup path ${path}`,
        );
      }
      dirs.push({
        dir: d.dir,
        mountpoint: h.mountpoint,
        version: h.version,
        controllers: [...h.controllers],
        ...(d.ino === undefined ? {} : { ino: d.ino }),
      });
    }
    for (const h of hierarchies) {
      const dir = dirFor(h, path);
      if (dir && !dirs.some((d) => d.dir === dir) && inodeOf(dir) !== null) {
        dirs.push({ dir, mountpoint: h.mountpoint, version: h.version, controllers: [...h.controllers] });
      }
    }
    return new Cgroup(path, dirs, path === `${DEFAULT_PARENT}/${id}`);
  }

  /** No directory of it exists. */
  get empty(): boolean {
    return this.dirs.every((d) => inodeOf(d.dir) === null);
  }

  /** What the state records. */
  get state(): CgroupState {
    return { path: this.path, dirs: this.dirs };
  }

  /**
   * How the init joins its cgroup. A cgroup.procs write makes the kernel
   * lock every thread group, which waits for an RCU grace period (~10 ms).
   * A v1 `tasks` write of "0" moves just the calling thread, without that
   * lock, and execve then leaves only that thread: that is the late join,
   * just before execve. A cgroup2 directory without memory or pids
   * controllers cannot hurt a tiny limit, so the init is simply started in
   * it (CLONE_INTO_CGROUP, also lock-free); with them, the init joins late
   * through cgroup.procs and pays the grace period. Decided before the
   * directory exists: its controllers are those its parent delegates and
   * those its resources need enabled (planResources comes first).
   * When the limits leave the init room (roomForInit), it starts in the
   * cgroup2 directory anyway and its main thread joins the v1 ones at once
   * (`early`: the init writes "0" into the same tasks files as soon as it
   * has them), so that engines find it in its cgroup before start.
   */
  joinPlan(roomy: boolean): { late: string[]; startIn: string | null; early: boolean } {
    const late: string[] = [];
    let startIn: string | null = null;
    for (const { dir, version } of this.dirs) {
      if (version === 1) {
        late.push(`${dir}/tasks`);
        continue;
      }
      const controllers = [
        ...(
          readTrim(`${dir}/cgroup.controllers`) || readTrim(`${dirname(dir)}/cgroup.subtree_control`)
        ).split(/\s+/),
        ...this.v2Enables(),
      ];
      if (roomy || !(controllers.includes("memory") || controllers.includes("pids"))) startIn = dir;
      else late.push(`${dir}/cgroup.procs`);
    }
    return { late, startIn, early: roomy && this.dirs.some((d) => d.version === 1) };
  }

  /**
   * Makes the directories of one cgroup version (one that exists already,
   * empty as planning found it, is taken as it is) and records each one's
   * inode, by which delete and kill know it later.
   */
  create(version: 1 | 2): void {
    for (const d of this.dirs.filter((x) => x.version === version)) {
      if (version === 2) delegate(d.dir, d.mountpoint, this.v2Enables());
      if (makeDir(d.dir)) this.made.push(d.dir);
      if (d.controllers.includes("cpuset")) fillCpuset(d.dir, d.mountpoint);
      d.ino = inodeOf(d.dir) ?? undefined;
    }
  }

  /** Removes what create made, after a failed create. */
  async undo(): Promise<void> {
    for (const dir of this.made.splice(0).reverse()) await removeRetrying(dir);
  }

  /**
   * Rootless, device rules need a delegated v1 devices controller: cgroup2's
   * eBPF filter takes privileges the caller lacks.
   */
  checkDevices(rules: number): void {
    if (!this.unprivileged || rules === 0) return;
    if (this.dirs.some((d) => d.version === 1 && d.controllers.includes("devices"))) return;
    throw new ConfigError(
      "linux.resources.devices",
      `${this.missing("devices")} (a rootless container reaches only the device nodes its user may open anyway)`,
    );
  }

  /** Device rules: to the v1 devices controller, and as an eBPF filter to the cgroup2 directory. */
  applyDevices(entries: readonly DeviceEntry[], filterV2: boolean): void {
    for (const { dir, version, controllers } of this.dirs) {
      if (version === 1 && controllers.includes("devices")) {
        for (const e of entries)
          writeFileSync(`${dir}/${e.allow ? "devices.allow" : "devices.deny"}`, v1Line(e));
      } else if (version === 2 && filterV2) {
        const fd = openPath(dir, O.RDONLY | O.DIRECTORY, `open ${dir}`);
        try {
          ebpf().attachDeviceFilter(fd, entries);
        } finally {
          sys.bunc_close(fd);
        }
      }
    }
  }

  private checked: Dir[] | undefined;

  // Directories that are still the ones create made: the same inode (or,
  // unrecorded, the container's own path under bunc's parent). Checked once:
  // the caller holds the container's lock, so they stay what they are.
  private verified(): Dir[] {
    this.checked ??= this.dirs.filter((d) => (d.ino === undefined ? this.ownPath : inodeOf(d.dir) === d.ino));
    return this.checked;
  }

  /**
   * Where one controller's files for this container are: the v1 hierarchy
   * that mounts it, else the cgroup2 directory when that has it (under
   * cgroup2's names: cpuacct is part of cpu, blkio is io; freezer and
   * cpu.stat are cgroup2's core, in every directory). Undefined where the
   * host gives the controller to neither.
   */
  controllerDir(name: string): { dir: string; version: 1 | 2 } | undefined {
    const v1 = this.dirs.find((d) => d.version === 1 && d.controllers.includes(name));
    if (v1) return { dir: v1.dir, version: 1 };
    const v2 = this.dirs.find((d) => d.version === 2);
    if (!v2) return undefined;
    const v2Name = V2_NAME[name] ?? name;
    if (v2Name === "" || v2Controllers(v2.dir).includes(v2Name)) return { dir: v2.dir, version: 2 };
    return undefined;
  }

  /** linux.resources as file writes, placed and checked by planResources. */
  private placed: Placed[] = [];

  private host(): Host {
    const v2 = this.dirs.find((d) => d.version === 2);
    return {
      locate: (name) => this.controllerDir(name),
      missing: (name) => this.missing(name),
      v2Dir: v2?.dir,
    };
  }

  private missing(name: string): string {
    if (this.unprivileged) {
      const v2 = this.dirs.find((d) => d.version === 2);
      return v2
        ? `bunc runs rootless and may use only the delegated cgroup2 ${nearestExisting(dirname(v2.dir))}, which has no ${V2_NAME[name] || name} controller`
        : `bunc runs rootless and may write no cgroup here (none is delegated to uid ${euid()}): leave linux.resources out, or delegate a cgroup2 subtree to the user and run bunc from inside it`;
    }
    const v1 = this.dirs.find((d) => d.version === 1 && d.controllers.includes(name));
    if (v1) return `the ${name} controller is on cgroup v1 on this host (${v1.mountpoint}), not on cgroup2`;
    const v2 = this.dirs.find((d) => d.version === 2);
    const v2Name = V2_NAME[name] ?? name;
    const noV1 = this.dirs.some((d) => d.version === 1) ? ": no cgroup v1 hierarchy mounts it" : "";
    if (!v2 || !readTrim(`${v2.mountpoint}/cgroup.controllers`).split(/\s+/).includes(v2Name))
      return `this host has no ${name} cgroup controller${v2 ? ` (cgroup2 has none${noV1 ? ", and no cgroup v1 hierarchy mounts it" : ""})` : ""}`;
    const parent = nearestExisting(dirname(v2.dir));
    return `cgroup2's ${v2Name} controller is not delegated to ${parent} (its parent's cgroup.subtree_control does not enable it)${noV1}`;
  }

  /** The cgroup2 controllers the resources need, for the parents to enable. */
  private v2Enables(): string[] {
    return [...new Set(this.placed.filter((p) => p.version === 2 && p.enable !== "").map((p) => p.enable))];
  }

  /** Places and checks linux.resources before anything is made: a field the host cannot honour throws. */
  planResources(r: Resources | undefined): void {
    this.placed = r ? resources().placeResources(r, this.host()) : [];
  }

  /** Writes the planned resources into the made directories. */
  applyResources(): void {
    if (this.placed.length) resources().applyPlaced(this.placed);
  }

  /** A running container's new resources: placed, enabled, checked and written. */
  update(r: Resources): void {
    this.planResources(r);
    const v2 = this.verified().find((d) => d.version === 2);
    if (v2) delegate(v2.dir, v2.mountpoint, this.v2Enables());
    resources().checkMemoryUsage(r, this.placed);
    this.applyResources();
  }

  /** The freezer: v1's where the host mounts it, else cgroup2's cgroup.freeze (the hybrid layout has both). */
  private freezer(): FreezerFiles | undefined {
    const where = this.controllerDir("freezer");
    if (!where || !this.verified().some((d) => d.dir === where.dir)) return undefined;
    return freezerFiles(where.dir, where.version);
  }

  /** Whether the container's processes are frozen (paused). */
  get frozen(): boolean {
    const f = this.freezer();
    return f ? isFrozen(f) : false;
  }

  /** Whether the host has a freezer for this cgroup. */
  get canFreeze(): boolean {
    return this.freezer() !== undefined;
  }

  /**
   * Freezes (true) or thaws every process of the cgroup, and waits until
   * the kernel has. Synchronous: a freeze takes microseconds unless a task
   * sleeps uninterruptibly, and kill and delete use it under their lock.
   */
  setFrozen(frozen: boolean): void {
    const f = this.freezer();
    if (!f)
      throw new Error(
        this.dirs.length === 0
          ? "the container has no cgroup (it was made rootless, with none delegated to its user), so it cannot be frozen"
          : "this host has no cgroup freezer (no v1 freezer hierarchy and no cgroup2)",
      );
    const value = frozen ? f.frozen : f.thawed;
    writeControl(f.file, value);
    for (let i = 0; !f.done(); i++) {
      if (i >= 2000) throw new Error(`the cgroup did not finish freezing: ${f.file}`);
      // A v1 freeze that meets a task in an uninterruptible sleep stays FREEZING; writing again retries it.
      if (i % 100 === 99) writeControl(f.file, value);
      Bun.sleepSync(1);
    }
  }

  /**
   * Whether any process is in the container's cgroup (stops at the first).
   * cgroup2's `populated` covers the whole subtree in one read, and every
   * process of the container is in its cgroup2 directory (started or
   * cloned there); without one, each hierarchy is walked.
   */
  busy(): boolean {
    const dirs = this.verified();
    const v2 = dirs.find((d) => d.version === 2);
    const events = v2 ? readTrim(`${v2.dir}/cgroup.events`) : "";
    if (events) return /^populated 1$/m.test(events);
    return dirs.some(({ dir }) => someBelow(dir, (d) => readTrim(`${d}/cgroup.procs`) !== ""));
  }

  /**
   * The processes in the container's cgroup, and in the cgroups it made
   * below it: from its cgroup2 directory, where every one of them is (see
   * busy), else from every hierarchy.
   */
  pids(): number[] {
    const pids = new Set<number>();
    const dirs = this.verified();
    const v2 = dirs.filter((d) => d.version === 2);
    for (const { dir } of v2.length ? v2 : dirs) {
      someBelow(dir, (d) => {
        for (const l of readTrim(`${d}/cgroup.procs`).split("\n")) if (l) pids.add(Number(l));
        return false;
      });
    }
    return [...pids];
  }

  /** SIGKILLs every process at once through cgroup2's cgroup.kill, which no fork can outrun; false where there is none. */
  kill(): boolean {
    const dir = this.verified().find((d) => d.version === 2 && inodeOf(`${d.dir}/cgroup.kill`) !== null);
    if (!dir) return false;
    writeFileSync(`${dir.dir}/cgroup.kill`, "1");
    return true;
  }

  /**
   * Removes the container's directories (and any it made below them);
   * parents stay. A directory whose inode is not the one recorded is
   * someone else's now and is left alone.
   */
  async destroy(): Promise<void> {
    for (const d of this.dirs) {
      const ino = inodeOf(d.dir);
      if (ino === null || (d.ino !== undefined && ino !== d.ino)) continue;
      await removeRetrying(d.dir);
    }
  }
}
