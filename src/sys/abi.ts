// The structs the C acts take, described field by field exactly as
// ffi/bunc.h declares them (test/unit/abi.test.ts compares the two), and the
// packer that lays them out. Every request starts with its size, which the
// C side checks; the packer fills it. A field missing from the values given
// is a type error; a field the header has and this table lacks fails the
// unit test.
import { ptr } from "bun:ffi";

export type FieldType = "u64" | "i64" | "i32";

export interface StructDef<F extends string> {
  readonly name: string;
  readonly fields: readonly (readonly [F, FieldType])[];
}

const u64s = <const F extends string>(names: readonly F[]) => names.map((n) => [n, "u64"] as const);

export const SPAWN = {
  name: "bunc_spawn",
  fields: [
    ...u64s(["size", "clone_flags", "joins", "njoins", "fdmap", "nfdmap", "exe_fd", "lib_fd"]),
    ...u64s(["argv", "envp", "errbuf", "errlen"]),
    ["cgroup_fd", "i64"],
    ...u64s(["uid_map", "gid_map", "time_offsets", "pass_fds", "uid_helper", "gid_helper", "deny_setgroups"]),
    ["set_oom_score_adj", "u64"],
    ["oom_score_adj", "i64"],
    ["unprivileged", "u64"],
  ],
} as const satisfies StructDef<string>;

export const FINAL = {
  name: "bunc_final",
  fields: u64s([
    "size",
    "uid",
    "gid",
    "groups",
    "ngroups",
    "cap_bounding",
    "cap_effective",
    "cap_permitted",
    "cap_inheritable",
    "cap_ambient",
    "cap_last",
    "no_new_privs",
    "rlimits",
    "nrlimits",
    "cgroup_fds",
    "ncgroup_fds",
    "new_cgroupns",
    "umask",
    "tty_fd",
    "keep_fds",
    "cwd",
    "path",
    "argv",
    "envp",
    "errbuf",
    "errlen",
    "personality",
    "ioprio",
    "sched_attr",
    "cpus_initial",
    "cpus_final",
    "cpus_size",
    "keyring",
    "mpol_mode",
    "mpol_nodes",
    "mpol_maxnode",
    "seccomp_prog",
    "seccomp_len",
    "seccomp_flags",
    "seccomp_early",
    "seccomp_listener",
    "seccomp_state",
  ]),
} as const satisfies StructDef<string>;

export const JOIN = {
  name: "bunc_join",
  fields: [
    ["fd", "i32"],
    ["type", "i32"],
  ],
} as const satisfies StructDef<string>;

export const FDMAP = {
  name: "bunc_fdmap",
  fields: [
    ["src", "i32"],
    ["dst", "i32"],
  ],
} as const satisfies StructDef<string>;

export const RLIMIT = {
  name: "bunc_rlimit",
  fields: u64s(["type", "soft", "hard"]),
} as const satisfies StructDef<string>;

export const FLAT = {
  name: "bunc_flat",
  fields: u64s(["magic", "total", "request", "relocs", "nrelocs"]),
} as const satisfies StructDef<string>;

const FLAT_MAGIC = 0x74616c66636e7562n; // "buncflat"

/** Every struct of the interface, for the unit test that reads bunc.h. */
export const STRUCTS: readonly StructDef<string>[] = [SPAWN, FINAL, JOIN, FDMAP, RLIMIT, FLAT];

/**
 * A buffer C reads: its address goes into the struct, the buffer itself into
 * `keep`. An array of C strings also names them (`strings`), so that it can
 * be laid out flat.
 */
export type Pointee =
  | Uint8Array
  | Int32Array
  | Uint32Array
  | BigUint64Array
  | { readonly address: bigint; readonly strings?: readonly Uint8Array[] };
type Value = bigint | number | boolean | Pointee | null;
type FieldsOf<D> = D extends StructDef<infer F> ? F : never;

/** "No value" for the C side's optional numeric fields. */
export const NONE = 0xffffffffffffffffn;

/** A u64 field of config.json (exact, as validate.ts reads it) as the value C gets. */
export const u64 = (n: number | bigint): bigint => BigInt.asUintN(64, BigInt(n));

const sizeOf = (def: StructDef<string>) => def.fields.reduce((n, [, t]) => n + (t === "i32" ? 4 : 8), 0);

function scalar(v: bigint | number | boolean): bigint {
  if (typeof v === "boolean") return v ? 1n : 0n;
  return BigInt.asUintN(64, BigInt(v));
}

/** A packed request and everything it points to, kept alive with it. */
export class Packed {
  constructor(
    readonly bytes: Buffer,
    readonly keep: readonly unknown[],
  ) {}
}

export function pack<D extends StructDef<string>>(
  def: D,
  values: Record<Exclude<FieldsOf<D>, "size">, Value>,
): Packed {
  const bytes = Buffer.alloc(sizeOf(def));
  const keep: unknown[] = [];
  let off = 0;
  for (const [name, type] of def.fields) {
    const v = name === "size" ? bytes.length : (values as Record<string, Value>)[name];
    if (v === undefined) throw new Error(`${def.name}.${name}: no value`);
    let n: bigint;
    if (v === null) n = 0n;
    else if (typeof v === "object") {
      keep.push(v);
      n = "address" in v ? v.address : BigInt(ptr(v));
    } else n = scalar(v);
    if (type === "i32") {
      bytes.writeInt32LE(Number(BigInt.asIntN(32, n)), off);
      off += 4;
    } else {
      bytes.writeBigUInt64LE(n, off);
      off += 8;
    }
  }
  return new Packed(bytes, keep);
}

/**
 * The request and everything it points to in one blob that another process
 * maps anywhere: struct bunc_flat, the request, the buffers, then the
 * offsets of every pointer field, which hold blob offsets until the reader
 * adds its base (ffi/final.c bunc_flat_request).
 */
export function flatten<D extends StructDef<string>>(
  def: D,
  values: Record<Exclude<FieldsOf<D>, "size">, Value>,
): Buffer {
  const header = sizeOf(FLAT);
  const chunks: Uint8Array[] = [];
  const relocs: number[] = [];
  let end = header + sizeOf(def);
  const append = (b: Uint8Array): number => {
    const at = end;
    chunks.push(b, new Uint8Array((8 - (b.byteLength % 8)) % 8));
    end += b.byteLength + ((8 - (b.byteLength % 8)) % 8);
    return at;
  };
  const placed: Record<string, { address: bigint }> = {};
  let fieldAt = header;
  for (const [name, type] of def.fields) {
    const v = (values as Record<string, Value>)[name];
    if (v !== null && typeof v === "object") {
      let at: number;
      if ("address" in v) {
        if (!v.strings) throw new Error(`${def.name}.${name}: a bare address cannot be laid out flat`);
        const strings = v.strings.map(append);
        const array = append(new Uint8Array(BigUint64Array.from([...strings.map(BigInt), 0n]).buffer));
        relocs.push(...strings.map((_, i) => array + 8 * i));
        at = array;
      } else at = append(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      placed[name] = { address: BigInt(at) };
      relocs.push(fieldAt);
    }
    fieldAt += type === "i32" ? 4 : 8;
  }
  const request = pack(def, { ...values, ...placed } as typeof values).bytes;
  const table = new Uint8Array(BigUint64Array.from(relocs.map(BigInt)).buffer);
  const head = pack(FLAT, {
    magic: FLAT_MAGIC,
    total: end + table.byteLength,
    request: header,
    relocs: end,
    nrelocs: relocs.length,
  }).bytes;
  return Buffer.concat([head, request, ...chunks, table]);
}

/** An array of element structs (at least one element long, so it has an address). */
export function packArray<D extends StructDef<string>>(
  def: D,
  rows: readonly Record<FieldsOf<D>, bigint | number>[],
): Buffer {
  const parts = rows.map((r) => pack(def, r as never).bytes);
  return parts.length ? Buffer.concat(parts) : Buffer.alloc(sizeOf(def));
}

// Written after each call, so the buffers are reachable until then.
const held: { last: unknown } = { last: undefined };

/**
 * Call after an FFI call with the buffers it read: they stay referenced
 * until here, so the collector cannot free them while C still uses them.
 */
export function keepAlive(...buffers: unknown[]): void {
  held.last = buffers;
}
