// linux.resources on a host's cgroups. v1, cgroup2 and the hybrid layout
// differ only in which hierarchy answers for a controller (Cgroup's
// controllerDir: a v1 mount of it first, else cgroup2 when it has it); each
// controller is then translated for that version (settings.ts) and written.
import { readFileSync } from "node:fs";
import type { Resources } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";
import { writeControl } from "./freezer.ts";
import { CONTROLLERS, type Setting, unifiedSettings } from "./settings.ts";

export interface Where {
  readonly dir: string;
  readonly version: 1 | 2;
}

/** The settings of one controller, in the directory that holds it. */
export interface Placed extends Where {
  /** Its v1 name ("" for cgroup2's core). */
  readonly controller: string;
  /** Its name where it lives, which cgroup2 parents must enable ("" for the core). */
  readonly enable: string;
  readonly settings: readonly Setting[];
}

export interface Host {
  /** Where a controller (by v1 name, or a cgroup2 name for unified keys) is, if anywhere. */
  locate(controller: string): Where | undefined;
  /** Why a controller is not available, for the error. */
  missing(controller: string): string;
  /** The cgroup2 directory, if the host has cgroup2. */
  readonly v2Dir: string | undefined;
}

/**
 * Where and what to write for r. Throws a ConfigError naming the field
 * when the host cannot give what is asked: a controller it lacks (unless
 * the value is what the kernel has anyway), or a value its version cannot
 * express. Nothing is written.
 */
export function placeResources(r: Resources, host: Host): Placed[] {
  const placed: Placed[] = [];
  for (const [controller, c] of Object.entries(CONTROLLERS)) {
    const where = host.locate(controller);
    const translate = where?.version === 2 ? c.v2 : c.v1;
    if (!where || !translate) {
      const asked = c.v1(r).find((s) => !s.isDefault);
      if (asked) throw new ConfigError(asked.field, host.missing(controller));
      continue;
    }
    const settings = translate(r);
    if (settings.length === 0) continue;
    const enable = where.version === 2 ? (c.v2Name ?? controller) : controller;
    placed.push({ ...where, controller, enable, settings });
  }
  // Written last, so that they can refine what the fields above set (as runc does).
  for (const { controller, setting } of unifiedSettings(r)) {
    if (!host.v2Dir) throw new ConfigError(setting.field, "this host has no cgroup2 hierarchy");
    const where = controller === "" ? { dir: host.v2Dir, version: 2 as const } : host.locate(controller);
    if (where?.version !== 2) throw new ConfigError(setting.field, host.missing(controller));
    placed.push({ ...where, controller, enable: controller, settings: [setting] });
  }
  return placed;
}

/** Writes a cgroup file: no create, no truncate (kernfs files are neither). */
const codeOf = (e: unknown) => (e as NodeJS.ErrnoException).code ?? "";

const REASONS: Record<string, string> = {
  EINVAL: "EINVAL: out of range, or not valid with the cgroup's other values",
  ERANGE: "ERANGE: out of range",
  ENOTSUP: "ENOTSUP: not supported by this kernel or device",
  EOPNOTSUPP: "EOPNOTSUPP: not supported by this kernel or device",
  ENODEV: "ENODEV: no such device",
  EBUSY: "EBUSY: in use",
};

function refused(s: Setting, file: string, value: string, e: unknown): ConfigError {
  const code = codeOf(e);
  const why = REASONS[code] ?? (code || (e as Error).message);
  return new ConfigError(s.field, `the kernel refused ${JSON.stringify(value)} for ${file} (${why})`);
}

/** Writes the placed settings; a value the kernel refuses is a ConfigError naming its field. */
export function applyPlaced(placed: readonly Placed[], write = writeControl): void {
  for (const p of placed) {
    const again: Setting[] = [];
    const put = (s: Setting, retrying: boolean) => {
      let file = s.file;
      let value = s.value;
      try {
        write(`${p.dir}/${file}`, value);
        return;
      } catch (e) {
        if (codeOf(e) === "EINVAL" && s.retry && !retrying) {
          again.push(s);
          return;
        }
        if (codeOf(e) !== "ENOENT") throw refused(s, file, value, e);
      }
      if (s.alt) {
        ({ file, value } = s.alt);
        try {
          write(`${p.dir}/${file}`, value);
          return;
        } catch (e) {
          if (codeOf(e) !== "ENOENT") throw refused(s, file, value, e);
        }
      }
      if (s.isDefault) return;
      const files = s.alt ? `${s.file} or ${s.alt.file}` : s.file;
      throw new ConfigError(s.field, `this kernel's ${p.enable || "cgroup2"} controller has no ${files}`);
    };
    for (const s of p.settings) put(s, false);
    for (const s of again) put(s, true);
  }
}

const readNumber = (path: string) => {
  try {
    return BigInt(readFileSync(path, "utf8").trim());
  } catch {
    return undefined;
  }
};

/**
 * memory.checkBeforeUpdate: a limit below what the container already uses
 * is refused rather than written (the kernel would reclaim or OOM-kill).
 */
export function checkMemoryUsage(r: Resources, placed: readonly Placed[]): void {
  const limit = r.memory?.limit;
  if (!r.memory?.checkBeforeUpdate || limit === undefined || BigInt(limit) <= 0n) return;
  const memory = placed.find((p) => p.controller === "memory");
  if (!memory) return;
  const usage = readNumber(
    `${memory.dir}/${memory.version === 1 ? "memory.usage_in_bytes" : "memory.current"}`,
  );
  if (usage !== undefined && usage > BigInt(limit))
    throw new ConfigError(
      "linux.resources.memory.limit",
      `${limit} is below the memory the container uses now (${usage} bytes), and checkBeforeUpdate is set`,
    );
}

// What the init, a Bun process charged from the moment it joins, needs to
// wait in its cgroup without coming near a limit.
const INIT_MEMORY = 64n << 20n;
const INIT_TASKS = 64n;

const small = (n: bigint | number | null | undefined, room: bigint) =>
  n != null && BigInt(n) > 0n && BigInt(n) < room;

/**
 * Whether the limits leave the init room to wait inside the cgroup: then it
 * may join before `start`, where engines read its cgroup (containerd's shim
 * takes it from /proc/<pid>/cgroup at create). Tiny limits keep the late join.
 */
export function roomForInit(r: Resources | undefined): boolean {
  const m = r?.memory;
  if ([m?.limit, m?.swap, m?.kernel, m?.kernelTCP].some((n) => small(n, INIT_MEMORY))) return false;
  if (small(r?.pids?.limit, INIT_TASKS)) return false;
  for (const [key, room] of [
    ["memory.max", INIT_MEMORY],
    ["memory.high", INIT_MEMORY],
    ["memory.swap.max", INIT_MEMORY],
    ["pids.max", INIT_TASKS],
  ] as const) {
    const value = r?.unified?.[key];
    if (value !== undefined && /^\d+$/.test(value) && small(BigInt(value), room)) return false;
  }
  return true;
}
