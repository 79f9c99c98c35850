// Opening a path of the runtime's own view (no in-root resolution): always
// close-on-exec, failures named by what was being opened.
import { O } from "./constants.ts";
import { check } from "./errors.ts";
import { sys } from "./lib.ts";
import { cstr } from "./mem.ts";

/** The fd, or -errno (for callers that handle some errors themselves). */
export const tryOpen = (path: string, flags: number): number =>
  sys.bunc_openat2(-100, cstr(path), flags | O.CLOEXEC, 0, 0);

export const openPath = (path: string, flags: number, what = `open ${path}`): number =>
  check(tryOpen(path, flags), what);
