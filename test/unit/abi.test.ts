// The interface between TypeScript and C is written twice, in ffi/bunc.h and
// in src/sys (abi.ts for the structs, lib.ts for the functions). These tests
// read the header and fail when the two disagree in any field or argument.
import { describe, expect, test } from "bun:test";
import { constants, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { FFIType } from "bun:ffi";
import { FINAL, pack, SPAWN, STRUCTS } from "../../src/sys/abi.ts";
import { O } from "../../src/sys/constants.ts";
import { symbols } from "../../src/sys/lib.ts";

const header = readFileSync(resolve(import.meta.dir, "../../ffi/bunc.h"), "utf8").replace(
  /\/\*[\s\S]*?\*\//g,
  "",
);

const C_TYPES: Record<string, string> = { uint64_t: "u64", int64_t: "i64", int32_t: "i32" };

function structFields(name: string): [string, string][] {
  const body = new RegExp(`struct ${name} \\{([^}]*)\\};`).exec(header)?.[1];
  if (body === undefined) throw new Error(`struct ${name} is not in bunc.h`);
  return body
    .split(";")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const m = /^(\w+)\s+(\w+)$/.exec(l);
      if (!m) throw new Error(`struct ${name}: cannot read field "${l}"`);
      return [m[2] ?? "", C_TYPES[m[1] ?? ""] ?? `unknown ${m[1]}`];
    });
}

// C parameter types as bun:ffi sees them.
function ffiType(param: string): string {
  if (param.includes("*")) return "ptr";
  const type = param
    .trim()
    .replace(/\s*\w+$/, "")
    .replace("const ", "");
  const map: Record<string, string> = {
    int: "i32",
    int32_t: "i32",
    uint32_t: "u32",
    uint64_t: "u64",
    size_t: "u64",
    long: "i64",
    int64_t: "i64",
  };
  return map[type] ?? `unknown ${type}`;
}

function prototypes(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of header.matchAll(/^[\w ]+?\*?\s*(bunc_\w+)\(([^)]*)\);/gm)) {
    const params = (m[2] ?? "").trim();
    out.set(m[1] ?? "", params === "void" || params === "" ? [] : params.split(",").map(ffiType));
  }
  return out;
}

const { i32, u32, i64, u64, ptr } = FFIType;
const FFI_NAMES = new Map<unknown, string>([
  [i32, "i32"],
  [u32, "u32"],
  [i64, "i64"],
  [u64, "u64"],
  [ptr, "ptr"],
]);
const typeName = (t: unknown) => FFI_NAMES.get(t) ?? `unexpected ${String(t)}`;

describe("bunc.h and src/sys agree", () => {
  for (const def of STRUCTS) {
    test(`struct ${def.name}: the same fields, types and order`, () => {
      expect(def.fields.map(([n, t]) => [n, t])).toEqual(structFields(def.name));
    });
  }

  test("every declared function is bound with the same arguments, and nothing else is bound", () => {
    const declared = prototypes();
    expect([...declared.keys()].sort()).toEqual(Object.keys(symbols).sort());
    for (const [name, sym] of Object.entries(symbols)) {
      const args = (sym.args as readonly unknown[]).map(typeName);
      expect({ name, args }).toEqual({ name, args: declared.get(name) ?? [] });
    }
  });

  test("the C object exports exactly the functions bunc.h declares", () => {
    const nm = Bun.spawnSync([
      "nm",
      "-D",
      "--defined-only",
      resolve(import.meta.dir, "../../build/libbunc.so"),
    ]);
    expect(nm.exitCode).toBe(0);
    const exported = nm.stdout
      .toString()
      .split("\n")
      .map((l) => l.split(" "))
      .filter((f) => f[1] === "T")
      .map((f) => f[2] ?? "");
    expect(exported.sort()).toEqual([...prototypes().keys()].sort());
  });

  test("every request struct starts with its size, which the packer fills", () => {
    for (const def of [SPAWN, FINAL]) expect(def.fields[0]).toEqual(["size", "u64"]);
    const fields = Object.fromEntries(FINAL.fields.slice(1).map(([n]) => [n, 0])) as never;
    const packed = pack(FINAL, fields);
    expect(packed.bytes.length).toBe(FINAL.fields.length * 8);
    expect(packed.bytes.readBigUInt64LE(0)).toBe(BigInt(FINAL.fields.length * 8));
  });

  test("a pointer field keeps its buffer alive with the request", () => {
    const cwd = Buffer.from("/\0");
    const fields = { ...(Object.fromEntries(FINAL.fields.slice(1).map(([n]) => [n, 0])) as object), cwd };
    const packed = pack(FINAL, fields as never);
    expect(packed.keep).toContain(cwd);
    const at = FINAL.fields.findIndex(([n]) => n === "cwd") * 8;
    expect(packed.bytes.readBigUInt64LE(at)).not.toBe(0n);
  });
});

describe("open flags", () => {
  test("agree with the platform's (they differ between x86-64 and arm64)", () => {
    const platform = constants as unknown as Record<string, number>;
    for (const [name, value] of Object.entries(O as Record<string, number>)) {
      const theirs = platform[`O_${name}`];
      if (theirs !== undefined) expect({ [name]: value }).toEqual({ [name]: theirs });
    }
    expect(platform.O_DIRECTORY).toBe(O.DIRECTORY);
  });
});
