// The plugin directory: oci-hooks.d 1.0.0 files, as podman and CRI-O read
// them, from /etc/bunc/hooks.d and each --hooks-dir (a later directory's
// file masks an earlier one of the same name). A plugin runs as root for
// every container it matches, so a file, or a directory it is in, that
// anyone but root could change is refused, never skipped.
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  type Stats,
  statSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type { Config, Hook } from "../oci/config.ts";
import { checked } from "../oci/checked.ts";
import { HooksdFile, type PluginStage } from "../oci/hooksd.ts";
import { debug } from "../diag.ts";
import { euid, inInitialUserns } from "../sys/rootless.ts";

export const DEFAULT_HOOKS_DIR = "/etc/bunc/hooks.d";

export interface Plugin {
  /** The hooks.d file it comes from. */
  readonly file: string;
  readonly hook: Hook;
  readonly when: HooksdFile["when"];
  readonly stages: readonly PluginStage[];
}

/** A plugin's hook path that names a JavaScript or TypeScript module: loaded in-process, not executed. */
export const isModule = (path: string) => /\.(m?js|ts)$/.test(path);

let self: { dev: number; ino: number } | null | undefined;

/** Whether path is this bunc binary. */
export function isSelf(path: string): boolean {
  self ??= statSync("/proc/self/exe", { throwIfNoEntry: false }) ?? null;
  const st = statSync(path, { throwIfNoEntry: false });
  return !!self && !!st && st.dev === self.dev && st.ino === self.ino;
}

/** The stages whose hooks run in the container's namespaces. */
const CONTAINER_STAGES: readonly string[] = ["createContainer", "startContainer"];

/**
 * Neither bunc's own code nor its binary runs in the container's
 * namespaces, where a container process could reach it (the
 * CVE-2019-5736 class): in-process modules and bundled plugins are runtime
 * stages only. Returns why a hook may not run at a stage, or null.
 */
export function containerStageRefusal(stage: string, path: string, plugin: boolean): string | null {
  if (!CONTAINER_STAGES.includes(stage)) return null;
  if (plugin && isModule(path))
    return `an in-process module never runs in the container's namespaces (${stage})`;
  if (isSelf(path)) return `bunc's own binary never runs in the container's namespaces (${stage})`;
  return null;
}

class NotOwned extends Error {}

// Root's, or (rootless) the caller's own: no one else may choose what bunc runs.
function checkOwner(path: string, st: Stats, what: string, allowSticky: boolean): void {
  const self = euid();
  if (st.uid !== 0 && st.uid !== self)
    throw new NotOwned(
      `${path}: ${what} must be owned by root${self ? ` or uid ${self}` : ""}, not uid ${st.uid}`,
    );
  const sticky = allowSticky && (st.mode & 0o1000) !== 0;
  if ((st.mode & 0o022) !== 0 && !sticky) {
    const mode = (st.mode & 0o7777).toString(8).padStart(4, "0");
    throw new Error(`${path}: ${what} must not be writable by group or others (mode ${mode})`);
  }
}

/** Whether the directory and those above it are root's or the caller's, by what this namespace can see. */
function provablyOwned(dir: string): boolean {
  try {
    checkDirectory(dir);
    return true;
  } catch (e) {
    if (e instanceof NotOwned) return false;
    throw e;
  }
}

/** The directory and every one above it: root's (or the caller's), and not open to others (sticky ones above it, like /tmp, may be). */
function checkDirectory(dir: string): string {
  const real = realpathSync(dir);
  checkOwner(real, statSync(real), "a hooks directory", false);
  for (let d = dirname(real); ; d = dirname(d)) {
    checkOwner(d, statSync(d), "a directory above a hooks directory", true);
    if (d === "/") break;
  }
  return real;
}

/** A file's text, opened without following a symlink and checked on the fd it was read from. */
function readChecked(file: string, what: string): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`${file}: ${what} must be a regular file`);
    checkOwner(file, st, what, false);
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}

function parsePlugin(file: string): Plugin {
  let raw: unknown;
  try {
    raw = JSON.parse(readChecked(file, "a hooks.d file"));
  } catch (e) {
    if (e instanceof SyntaxError) throw new Error(`${file}: not valid JSON: ${e.message}`);
    throw e;
  }
  let entry: HooksdFile;
  try {
    entry = checked(HooksdFile, raw);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  const { hook, when, stages } = entry;
  if (!existsSync(hook.path)) throw new Error(`${file}: hook.path: ${hook.path} does not exist`);
  for (const stage of stages) {
    const refusal = containerStageRefusal(stage, hook.path, true);
    if (refusal) throw new Error(`${file}: stages: ${refusal}`);
  }
  // A module runs inside bunc itself: it gets the checks a hooks.d file gets.
  if (isModule(hook.path)) readChecked(hook.path, "an in-process hook module");
  return { file, hook, when, stages };
}

/**
 * The plugins of the default directory (if it exists) and of each given
 * one (which must), in the order they run: by file name, lower-cased.
 */
export function loadPlugins(extraDirs: readonly string[]): Plugin[] {
  const files = new Map<string, string>();
  const dirs = [DEFAULT_HOOKS_DIR, ...extraDirs];
  dirs.forEach((dir, i) => {
    if (!existsSync(dir)) {
      if (i > 0) throw new Error(`--hooks-dir: ${dir} does not exist`);
      return;
    }
    // In a user namespace not the host's (podman's rootless mode) the host's
    // root shows as an unmapped id: its default directory cannot be proven
    // root's and is left out, as podman leaves out its default hooks there.
    // Directories given by --hooks-dir are checked as ever.
    if (i === 0 && !inInitialUserns() && !provablyOwned(dir)) {
      debug(`${dir}: its owner is not mapped in this user namespace; its plugins are left out`);
      return;
    }
    const real = checkDirectory(dir);
    for (const name of readdirSync(real)) if (name.endsWith(".json")) files.set(name, join(real, name));
  });
  const names = [...files.keys()].sort((a, b) => {
    const [x, y] = [a.toLowerCase(), b.toLowerCase()];
    return x < y ? -1 : x > y ? 1 : 0;
  });
  return names.map((n) => parsePlugin(files.get(n) ?? ""));
}

const hasBindMounts = (config: Config) =>
  (config.mounts ?? []).some(
    (m) => m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind"),
  );

/**
 * Whether a plugin applies to a container: every condition its `when` sets
 * must hold (oci-hooks(5)). Patterns are JavaScript regular expressions,
 * matched unanchored as Go's regexp.MatchString does: write ^...$ to anchor.
 */
export function matches(p: Plugin, config: Config): boolean {
  const w = p.when;
  if (w.always !== undefined && !w.always) return false;
  if (w.hasBindMounts !== undefined && !(w.hasBindMounts && hasBindMounts(config))) return false;
  const annotations = Object.entries(config.annotations ?? {});
  for (const [keyRe, valueRe] of Object.entries(w.annotations ?? {})) {
    const [k, val] = [new RegExp(keyRe), new RegExp(valueRe)];
    if (!annotations.some(([key, value]) => k.test(key) && val.test(value))) return false;
  }
  if (w.commands !== undefined) {
    const command = config.process.args?.[0] ?? "";
    if (!w.commands.some((c) => new RegExp(c).test(command))) return false;
  }
  return true;
}
