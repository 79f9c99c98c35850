// JSON with exact 64-bit integers. JSON numbers are doubles: an integer
// beyond 2^53 (a seccomp mask, an rlimit, a memory limit) would lose its
// low bits, so such integers are read as bigints and written as digits.

// Only text that has a long number pays for the reviver.
const LONG_NUMBER = /\d{16}/;
const exact = (_key: string, value: unknown, context?: { source?: string }) =>
  typeof value === "number" && !Number.isSafeInteger(value) && /^-?\d+$/.test(context?.source ?? "")
    ? BigInt(context?.source ?? "0")
    : value;

/** JSON text with every integer exact: those beyond 2^53 as bigints. */
export const parseExactJson = (text: string): unknown =>
  LONG_NUMBER.test(text) ? JSON.parse(text, exact as never) : JSON.parse(text);

// A marker no string of ours holds (the schemas refuse NUL bytes), so that
// a bigint's digits can be unquoted after stringify, which escapes the NUL.
const MARK = "\u0000bigint:";
const MARKED = /"\\u0000bigint:(-?\d+)"/g;

/** JSON.stringify that writes bigints as plain integers. */
export function stringifyExact(value: unknown): string {
  let hasBig = false;
  const text = JSON.stringify(value, (_k, v) => {
    if (typeof v !== "bigint") return v;
    hasBig = true;
    return `${MARK}${v}`;
  });
  return hasBig ? text.replace(MARKED, "$1") : text;
}
