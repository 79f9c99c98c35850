// bunc's filters decide as libseccomp's do. For each profile, the filter
// libseccomp built (fixtures/seccomp/*.libseccomp.bpf) and bunc's run
// through the interpreter over every syscall number of every architecture
// the profile covers, with argument values around those its rules name.
// The one difference is by design: above the highest number a profile
// names, bunc returns ENOSYS where libseccomp returns the default.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { Seccomp } from "../../src/oci/config.ts";
import { syscallNumber } from "../../src/seccomp/arch.ts";
import { compileSeccomp } from "../../src/seccomp/compile.ts";
import { run } from "../../src/seccomp/interpret.ts";
import { SECCOMP_ARCH, SECCOMP_RET, X32_SYSCALL_BIT } from "../../src/sys/constants.ts";
import { PROFILES, referenceFile } from "../fixtures/seccomp/profiles.ts";

const ENOSYS = 0x50026;

function argumentValues(s: Seccomp): bigint[] {
  const values = new Set([0n, 1n, 0xffffffffn, 0x100000000n, 0xffffffffffffffffn]);
  for (const rule of s.syscalls ?? []) {
    for (const a of rule.args ?? []) {
      for (const v of [BigInt(a.value), BigInt(a.valueTwo ?? 0)]) {
        values.add(v);
        values.add(v + 1n);
        if (v > 0n) values.add(v - 1n);
        values.add(v | (1n << 40n));
      }
    }
  }
  return [...values].filter((v) => v <= 0xffffffffffffffffn);
}

function defaultRet(s: Seccomp): number {
  const base = SECCOMP_RET[s.defaultAction];
  return s.defaultAction === "SCMP_ACT_ERRNO" ? (base | (s.defaultErrnoRet ?? 1)) >>> 0 : base;
}

describe("the same decisions as libseccomp", () => {
  for (const [name, profile] of Object.entries(PROFILES)) {
    test(`${name}`, () => {
      const s = profile();
      const reference = readFileSync(referenceFile(name));
      const values = argumentValues(s);
      const byMachine = {
        x64: compileSeccomp(s, "x", "x64").program,
        arm64: compileSeccomp(s, "x", "arm64").program,
      };
      const listed = new Set<string>(s.architectures ?? []);
      const arches = (Object.keys(SECCOMP_ARCH) as (keyof typeof SECCOMP_ARCH)[]).filter(
        (a) => a === "SCMP_ARCH_X86_64" || listed.has(a),
      );
      const mismatches: string[] = [];
      let compared = 0;
      const withArgs = (s.syscalls ?? []).filter((r) => r.args?.length).flatMap((r) => r.names);
      for (const arch of arches) {
        // Arguments matter only to syscalls with conditions: the others are tried once.
        const conditioned = new Set(withArgs.map((n) => syscallNumber(arch, n)));
        const ours =
          arch === "SCMP_ARCH_AARCH64" || arch === "SCMP_ARCH_ARM" ? byMachine.arm64 : byMachine.x64;
        const base = arch === "SCMP_ARCH_X32" ? X32_SYSCALL_BIT : 0;
        const audit = SECCOMP_ARCH[arch].audit;
        for (let n = 0; n < 1100; n++) {
          const nr = base + n;
          const argSets = conditioned.has(nr)
            ? [
                [],
                ...values.flatMap((v) =>
                  [0, 1, 2, 3].map((i) => Object.assign([0n, 0n, 0n, 0n], { [i]: v })),
                ),
              ]
            : [[]];
          for (const args of argSets) {
            const want = run(reference, { nr, arch: audit, args }).ret;
            const got = run(ours, { nr, arch: audit, args }).ret;
            compared++;
            if (got === want || (got === ENOSYS && want === defaultRet(s))) continue;
            mismatches.push(
              `${arch} nr ${n} args ${args.join(",")}: libseccomp 0x${want.toString(16)}, bunc 0x${got.toString(16)}`,
            );
            break;
          }
        }
      }
      expect(mismatches.slice(0, 10)).toEqual([]);
      expect(compared).toBeGreaterThan(3000);
    });
  }
});
