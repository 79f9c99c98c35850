// The loader check reads ELF files: the host's C object and the running
// executable, both real files here.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { bytesReader, executableLibc, objectLibc, readElf } from "../../src/sys/elf.ts";
import { checkObject, target } from "../../src/sys/target.ts";

const object = readFileSync(resolve(import.meta.dir, "../../build/libbunc.so"));

describe("ELF", () => {
  test("the host's C object: this machine, glibc", () => {
    const elf = readElf(bytesReader(object));
    expect(elf.machine).toBe(process.arch);
    expect(elf.interp).toBeNull();
    expect(elf.needed).toEqual(["libc.so.6"]);
    expect(objectLibc(elf)).toBe("glibc");
  });

  test("the running executable (Bun): its interpreter names glibc", () => {
    const elf = readElf(bytesReader(readFileSync("/proc/self/exe").subarray(0, 1 << 16)));
    expect(elf.machine).toBe(process.arch);
    expect(elf.interp).toMatch(/\/ld-linux-/);
    expect(executableLibc(elf)).toBe("glibc");
  });

  test("what is not a 64-bit little-endian ELF file is refused", () => {
    expect(() => readElf(bytesReader(new TextEncoder().encode("#!/bin/sh\n".padEnd(64))))).toThrow(
      "not an ELF file",
    );
    const elf32 = Uint8Array.from(object.subarray(0, 64));
    elf32[4] = 1;
    expect(() => readElf(bytesReader(elf32))).toThrow("not a 64-bit little-endian ELF file");
  });
});

describe("the loader check", () => {
  test("passes for this platform, names both sides otherwise", () => {
    expect(target()).toBe(`linux-${process.arch}`);
    expect(() => checkObject(object)).not.toThrow();
    const other = process.arch === "x64" ? "arm64" : "x64";
    expect(() => checkObject(object, "the C object", other, "glibc")).toThrow(
      `the C object built into bunc is for linux-${process.arch} but this process runs on linux-${other}: ` +
        "use the bunc binary built for this platform",
    );
    expect(() => checkObject(object, "the C object", process.arch, "musl")).toThrow(
      `is for linux-${process.arch} but this process runs on linux-${process.arch}-musl`,
    );
  });
});
