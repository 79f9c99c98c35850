// Building the plain buffers the C acts take: C strings, string arrays and
// error buffers. A caller keeps each buffer referenced until the call that
// reads it returns (abi.ts keepAlive).
import { ptr } from "bun:ffi";

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
  get strings(): readonly Uint8Array[] {
    return this.keep;
  }
}

/** The buffer a C act writes its error message into; its length goes with it. */
export class ErrBuf {
  readonly buf = Buffer.alloc(512);
  get len(): number {
    return this.buf.length;
  }
  text(): string {
    const end = this.buf.indexOf(0);
    return this.buf.toString("utf8", 0, end < 0 ? this.buf.length : end);
  }
}
