// Turning the C side's -errno results into errors that say what failed.
import { sys } from "./lib.ts";

export class SysError extends Error {
  constructor(
    readonly errno: number,
    what: string,
  ) {
    super(`${what}: ${sys.bunc_strerror(errno)}`);
  }
}

export function check(rc: number, what: string): number {
  if (rc < 0) throw new SysError(-rc, what);
  return rc;
}
