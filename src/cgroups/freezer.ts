// A cgroup's control files, read and written, and the freezer's (v1's
// freezer.state or cgroup2's cgroup.freeze): one reading for the Cgroup
// object (pause, resume, kill) and for the status query, which reads where
// create recorded the cgroup without loading the rest of the cgroup code.
import { closeSync, constants, existsSync, openSync, readFileSync, writeSync } from "node:fs";

// Without an exception for a file that is not there: most are not, and
// exceptions are not cheap in the few milliseconds a command has.
export function readTrim(file: string): string {
  if (!existsSync(file)) return "";
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return "";
  }
}

/** One write of a control file, opened for it alone (a kernel error is the write's). */
export function writeControl(path: string, value: string): void {
  const fd = openSync(path, constants.O_WRONLY);
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
}

export interface FreezerFiles {
  readonly file: string;
  readonly frozen: string;
  readonly thawed: string;
  /** The freeze or thaw asked for is complete. */
  readonly done: () => boolean;
}

export function freezerFiles(dir: string, version: 1 | 2): FreezerFiles {
  if (version === 1) {
    const file = `${dir}/freezer.state`;
    return { file, frozen: "FROZEN", thawed: "THAWED", done: () => readTrim(file) !== "FREEZING" };
  }
  const events = `${dir}/cgroup.events`;
  const file = `${dir}/cgroup.freeze`;
  return {
    file,
    frozen: "1",
    thawed: "0",
    done: () => readTrim(file) === "0" || /^frozen 1$/m.test(readTrim(events)),
  };
}

/** Whether the freezer at dir holds its processes (or is on its way). */
export function isFrozen(f: FreezerFiles): boolean {
  const state = readTrim(f.file);
  return state === f.frozen || state === "FREEZING";
}

/**
 * The freezer of a cgroup as the state records it: v1's when there is one,
 * else cgroup2's. For reading only: what acts on the cgroup goes through
 * the Cgroup object and its checks.
 */
export function recordedFreezer(
  dirs: readonly { dir: string; version: 1 | 2; controllers: readonly string[] }[],
): FreezerFiles | undefined {
  const v1 = dirs.find((d) => d.version === 1 && d.controllers.includes("freezer"));
  const v2 = dirs.find((d) => d.version === 2);
  const where = v1 ?? v2;
  return where ? freezerFiles(where.dir, where.version) : undefined;
}
