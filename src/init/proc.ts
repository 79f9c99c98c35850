// Writes to /proc made by the init (oom_score_adj, sysctls, LSM exec
// labels): through a /proc verified to be procfs, resolved beneath it
// without crossing into another mount or through a magic link.
import { writeSync } from "node:fs";
import { O, RESOLVE } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { openPath } from "../sys/open.ts";
import { cstr } from "../sys/mem.ts";

const PROC_SUPER_MAGIC = 0x9fa0;

let procFd = -1;

function proc(): number {
  if (procFd >= 0) return procFd;
  const fd = openPath("/proc", O.PATH | O.DIRECTORY, "open /proc");
  if (Number(sys.bunc_fs_magic(fd)) !== PROC_SUPER_MAGIC) {
    sys.bunc_close(fd);
    throw new Error("/proc is not a procfs: refusing to write to it");
  }
  procFd = fd;
  return fd;
}

/** Writes value to /proc/<rel> (rel like "self/oom_score_adj"); `what` names the config field. */
export function writeProc(rel: string, value: string, what: string): void {
  const fd = sys.bunc_openat2(
    proc(),
    cstr(rel),
    O.WRONLY | O.CLOEXEC,
    0,
    RESOLVE.BENEATH | RESOLVE.NO_XDEV | RESOLVE.NO_MAGICLINKS,
  );
  check(fd, `${what}: open /proc/${rel}`);
  try {
    writeSync(fd, value);
  } catch (e) {
    throw new Error(
      `${what}: write ${JSON.stringify(value)} to /proc/${rel}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  } finally {
    sys.bunc_close(fd);
  }
}

export function closeProc(): void {
  if (procFd >= 0) sys.bunc_close(procFd);
  procFd = -1;
}
