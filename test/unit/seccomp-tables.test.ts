// The syscall tables are generated from the kernel headers, never typed by
// hand: regenerated here from the headers on this machine, they match.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { syscallNames, syscallNumber } from "../../src/seccomp/arch.ts";
import { SOURCES, tableOf } from "../../src/seccomp/generate-syscalls.ts";
import { SECCOMP_ARCH } from "../../src/sys/constants.ts";

const archOf = (table: string) =>
  (Object.keys(SECCOMP_ARCH) as (keyof typeof SECCOMP_ARCH)[]).find((a) => SECCOMP_ARCH[a].table === table)!;

describe("syscall tables", () => {
  for (const source of SOURCES) {
    // The x86 headers come with the C compiler the build needs; the cross
    // headers only where a developer installed them to regenerate.
    const present = source.includeDir === null || existsSync(`${source.includeDir}/${source.header}`);
    test.if(present)(`${source.arch}: as the kernel headers on this machine define it`, () => {
      const fromHeaders = Object.fromEntries(tableOf(source) ?? []);
      expect({ ...syscallNames(archOf(source.arch)) }).toEqual(fromHeaders);
    });
  }

  test("numbers every ABI agrees on", () => {
    const cases: [keyof typeof SECCOMP_ARCH, string, number][] = [
      ["SCMP_ARCH_X86_64", "read", 0],
      ["SCMP_ARCH_X86_64", "execve", 59],
      ["SCMP_ARCH_X86", "read", 3],
      ["SCMP_ARCH_X86", "socketcall", 102],
      ["SCMP_ARCH_X32", "read", 0x40000000],
      ["SCMP_ARCH_X32", "execve", 0x40000000 + 520],
      ["SCMP_ARCH_AARCH64", "read", 63],
      ["SCMP_ARCH_AARCH64", "execve", 221],
      ["SCMP_ARCH_ARM", "read", 3],
      ["SCMP_ARCH_ARM", "cacheflush", 0x0f0002],
    ];
    for (const [arch, name, nr] of cases)
      expect({ arch, name, nr: syscallNumber(arch, name) }).toEqual({ arch, name, nr });
    expect(syscallNumber("SCMP_ARCH_AARCH64", "open")).toBeUndefined();
  });
});
