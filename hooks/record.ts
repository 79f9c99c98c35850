// What a plugin made for a container, recorded in a directory of its own
// under the state root (made.json) after each step, so that poststop, or
// the step that failed, undoes exactly that.
import { readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { ERRNO, MNT_DETACH } from "../src/sys/constants.ts";
import { check } from "../src/sys/errors.ts";
import { sys } from "../src/sys/lib.ts";
import { cstr } from "../src/sys/mem.ts";
import { parseMountinfo } from "../src/sys/mountinfo.ts";

/** Replaces the record whole (written aside, then renamed): a crash leaves the last one, never half of it. */
export function saveMade(dir: string, made: object): void {
  writeFileSync(`${dir}/made.json.tmp`, JSON.stringify(made), { mode: 0o600 });
  renameSync(`${dir}/made.json.tmp`, `${dir}/made.json`);
}

/** The record, or null when nothing was recorded yet. */
export function readMade<T>(dir: string): T | null {
  try {
    return JSON.parse(readFileSync(`${dir}/made.json`, "utf8")) as T;
  } catch {
    return null;
  }
}

/** Detaches what is mounted at path; nothing to do when nothing is (EINVAL) or there is no path (ENOENT). */
export function detach(path: string, what: string): void {
  const rc = sys.bunc_umount(cstr(path), MNT_DETACH);
  if (rc < 0 && rc !== -ERRNO.EINVAL && rc !== -ERRNO.ENOENT) check(rc, what);
}

/**
 * Removes the plugin's directory of a container, unless something is still
 * mounted at or below it: a recursive remove would go on into the mount (an
 * id-mapped view of a shared layer, say) and delete what is there.
 * `remove` does the removing (rootless: a worker that owns what is there).
 */
export function removeMadeDir(
  dir: string,
  what: string,
  remove = (p: string) => rmSync(p, { recursive: true, force: true }),
): void {
  const real = realpathSync(dir);
  const mounted = parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8"))
    .map((m) => m.mountpoint)
    .filter((m) => m === real || m.startsWith(`${real}/`));
  if (mounted.length)
    throw new Error(`${what}: ${mounted.join(", ")} is still mounted, so ${dir} is left in place`);
  remove(dir);
}
