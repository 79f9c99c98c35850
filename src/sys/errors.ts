// Turning the C side's -errno results into errors that say what failed.
import { sys } from "./lib.ts";
import { escapeControl } from "./text.ts";

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

/** An error that already names the config field it is about. */
export class FieldError extends Error {}

/** Runs fn; an error from it is prefixed with the config field it is about (once). */
export function forField<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FieldError) throw e;
    throw new FieldError(`${field}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const FAULTS = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

/** A fault in bunc itself rather than an error it reports on purpose. */
export const isInternal = (e: unknown) => !(e instanceof Error) || FAULTS.some((c) => e instanceof c);

/** An error as one line: a message of ours as it is, a fault named as one. */
export function errorLine(e: unknown): string {
  const text = isInternal(e)
    ? `internal error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`
    : (e as Error).message;
  // Control characters (a newline in a path from the config) would break the line.
  return escapeControl(text);
}
