// Building the plain buffers the C acts take: C strings, string arrays and
// structs of 64-bit fields. Every buffer is kept referenced by its owner
// until the call returns.
import { ptr } from "bun:ffi";

export const ERRLEN = 512;

export function cstr(s: string): Buffer {
  if (s.includes("\0")) throw new Error(`string contains a NUL byte: ${JSON.stringify(s)}`);
  return Buffer.from(`${s}\0`);
}

/** A NULL-terminated char* array; `keep` holds the strings alive. */
export class CStrings {
  readonly keep: Buffer[];
  readonly array: BigUint64Array;
  constructor(strings: readonly string[]) {
    this.keep = strings.map(cstr);
    this.array = new BigUint64Array(strings.length + 1);
    this.keep.forEach((b, i) => {
      this.array[i] = BigInt(ptr(b));
    });
  }
  get address(): bigint {
    return BigInt(ptr(this.array));
  }
}

export function addr(view: NodeJS.TypedArray): bigint {
  return BigInt(ptr(view));
}

export function errText(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.toString("utf8", 0, end < 0 ? buf.length : end);
}
