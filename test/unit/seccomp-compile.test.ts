// The filters bunc compiles, run through the BPF interpreter: every action,
// every operator at its 64-bit edges, each architecture, rule order, and
// what becomes of numbers the profile does not name.
import { describe, expect, test } from "bun:test";
import type { Seccomp } from "../../src/oci/config.ts";
import { ConfigError } from "../../src/oci/errors.ts";
import { syscallNumber } from "../../src/seccomp/arch.ts";
import { compileSeccomp } from "../../src/seccomp/compile.ts";
import { run } from "../../src/seccomp/interpret.ts";
import { SECCOMP_ARCH } from "../../src/sys/constants.ts";
import { PROFILES } from "../fixtures/seccomp/profiles.ts";

type Arch = keyof typeof SECCOMP_ARCH;

const ALLOW = 0x7fff0000;
const KILL_THREAD = 0;
const errno = (e: number) => 0x50000 | e;
const DEFAULT = errno(13);
const ENOSYS = errno(38);

const synthetic = PROFILES.synthetic!();
const onX64 = compileSeccomp(synthetic, "linux.seccomp", "x64").program;
const onArm64 = compileSeccomp(synthetic, "linux.seccomp", "arm64").program;

function decide(arch: Arch, name: string | number, args: bigint[] = []): number {
  const nr = typeof name === "number" ? name : syscallNumber(arch, name);
  if (nr === undefined) throw new Error(`${arch} has no ${name}`);
  const program = arch === "SCMP_ARCH_AARCH64" || arch === "SCMP_ARCH_ARM" ? onArm64 : onX64;
  return run(program, { nr, arch: SECCOMP_ARCH[arch].audit, args }).ret;
}

const B32 = 0x100000000n;
const M32 = 0xffffffffn;

describe("actions", () => {
  const cases: [string, number][] = [
    ["read", ALLOW],
    ["getpid", errno(5)],
    ["getppid", 0x00030000],
    ["gettid", 0x80000000],
    ["getuid", KILL_THREAD],
    ["getgid", 0x7ffc0000],
    ["geteuid", 0x7ff00007],
    ["sched_yield", DEFAULT],
  ];
  for (const arch of Object.keys(SECCOMP_ARCH) as Arch[]) {
    test(`${arch}: every action, and the default errno`, () => {
      for (const [name, ret] of cases) expect({ name, ret: decide(arch, name) }).toEqual({ name, ret });
    });
  }
});

describe("operators on 64-bit arguments", () => {
  const cases: [string, bigint[], number][] = [
    ["dup", [M32], ALLOW],
    ["dup", [B32], ALLOW],
    ["dup", [B32 | M32], DEFAULT],
    ["dup", [0n], DEFAULT],
    ["dup3", [0n, B32], DEFAULT],
    ["dup3", [0n, 0n], ALLOW],
    ["dup3", [0n, 2n * B32], ALLOW],
    ["lseek", [0n, B32], ALLOW],
    ["lseek", [0n, M32], DEFAULT],
    ["pread64", [0n, 0n, 0n, B32], ALLOW],
    ["pread64", [0n, 0n, 0n, M32], DEFAULT],
    ["pread64", [0n, 0n, 0n, 0xffffffffffffffffn], ALLOW],
    ["pwrite64", [0n, 0n, 0n, M32], ALLOW],
    ["pwrite64", [0n, 0n, 0n, B32], DEFAULT],
    ["readv", [0n, 0n, M32], ALLOW],
    ["readv", [0n, 0n, B32], DEFAULT],
    ["readv", [0n, 0n, 0n], ALLOW],
    // MASKED_EQ, with a mask across both words: (arg & value) == valueTwo.
    ["writev", [0n, 0n, B32 | 0xffn], ALLOW],
    ["writev", [0n, 0n, 2n * B32], DEFAULT],
    ["writev", [0n, 0n, 0xffn], DEFAULT],
    ["ioctl", [0n, 1n], ALLOW],
    ["ioctl", [0n, 3n], ALLOW],
    ["ioctl", [0n, B32 | 1n], DEFAULT],
    ["ioctl", [0n, B32 | 3n], DEFAULT],
  ];
  for (const arch of ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"] as const) {
    test(`${arch}: EQ, NE, GT, GE, LT, LE, MASKED_EQ at the 32-bit boundary and with the upper word set`, () => {
      for (const [name, args, ret] of cases) {
        expect({ name, args: args.map(String), ret: decide(arch, name, args) }).toEqual({
          name,
          args: args.map(String),
          ret,
        });
      }
    });
  }

  test("i386, x32 and arm compare the low 32 bits only, as libseccomp does", () => {
    for (const arch of ["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_ARM"] as const) {
      // dup's second rule (== 2^32) is == 0 in 32 bits.
      expect(decide(arch, "dup", [0n])).toBe(ALLOW);
      expect(decide(arch, "dup3", [0n, 0n])).toBe(DEFAULT);
      expect(decide(arch, "dup3", [0n, 1n])).toBe(ALLOW);
      // > 0xffffffff never holds in 32 bits.
      expect(decide(arch, "lseek", [0n, B32])).toBe(DEFAULT);
    }
  });
});

describe("rules", () => {
  test("the conditions of a rule are ANDed, the rules for one syscall ORed", () => {
    expect(decide("SCMP_ARCH_X86_64", "fcntl", [1n, 3n])).toBe(ALLOW);
    expect(decide("SCMP_ARCH_X86_64", "fcntl", [1n, 2n])).toBe(DEFAULT);
    expect(decide("SCMP_ARCH_X86_64", "fcntl", [3n, 0n])).toBe(ALLOW);
    expect(decide("SCMP_ARCH_X86_64", "fcntl", [2n, 5n])).toBe(DEFAULT);
  });

  test("rules with different actions: the first that holds decides", () => {
    expect(decide("SCMP_ARCH_X86_64", "kill", [1n, 9n])).toBe(errno(3));
    expect(decide("SCMP_ARCH_X86_64", "kill", [1n, 15n])).toBe(ALLOW);
  });

  test("a name an architecture lacks is skipped there; an unknown name is skipped everywhere", () => {
    expect(decide("SCMP_ARCH_X86_64", "arch_prctl")).toBe(ALLOW);
    expect(decide("SCMP_ARCH_X86_64", "open")).toBe(ALLOW);
    expect(syscallNumber("SCMP_ARCH_AARCH64", "open")).toBeUndefined();
    expect(() =>
      compileSeccomp({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["nope"], action: "SCMP_ACT_KILL" }],
      }),
    ).not.toThrow();
  });
});

describe("numbers and architectures the profile does not name", () => {
  test("a gap below the highest named number gets the default, above it ENOSYS", () => {
    expect(decide("SCMP_ARCH_X86_64", 100)).toBe(DEFAULT);
    expect(decide("SCMP_ARCH_X86_64", 300)).toBe(ENOSYS);
    expect(decide("SCMP_ARCH_X86_64", 100000)).toBe(ENOSYS);
    expect(decide("SCMP_ARCH_X32", 0x40000000 + 1000)).toBe(ENOSYS);
    expect(decide("SCMP_ARCH_AARCH64", 1000)).toBe(ENOSYS);
  });

  test("with an allowing default, newer syscalls are allowed", () => {
    const p = compileSeccomp({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }],
    });
    const x = SECCOMP_ARCH.SCMP_ARCH_X86_64.audit;
    expect(run(p.program, { nr: 83, arch: x }).ret).toBe(errno(1));
    expect(run(p.program, { nr: 1000, arch: x }).ret).toBe(ALLOW);
  });

  test("an architecture without a section is killed; x32 numbers are killed unless x32 is listed", () => {
    const p = compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW" }, "linux.seccomp", "x64").program;
    const x = SECCOMP_ARCH.SCMP_ARCH_X86_64.audit;
    expect(run(p, { nr: 0, arch: x }).ret).toBe(ALLOW);
    expect(run(p, { nr: 0x40000000, arch: x }).ret).toBe(KILL_THREAD);
    expect(run(p, { nr: 3, arch: SECCOMP_ARCH.SCMP_ARCH_X86.audit }).ret).toBe(KILL_THREAD);
    expect(run(onX64, { nr: 63, arch: SECCOMP_ARCH.SCMP_ARCH_AARCH64.audit }).ret).toBe(KILL_THREAD);
    expect(run(onArm64, { nr: 0, arch: x }).ret).toBe(KILL_THREAD);
  });
});

describe("a filter that is fast to run", () => {
  test("Docker's default profile: a few hundred instructions, a dozen run for the common syscalls", () => {
    const { program } = compileSeccomp(PROFILES.docker!());
    // Three architectures (x86-64, i386, x32); libseccomp builds 960.
    expect(program.length).toBeLessThan(700);
    for (const name of ["read", "write", "futex", "epoll_wait"]) {
      const { steps } = run(program, {
        nr: syscallNumber("SCMP_ARCH_X86_64", name)!,
        arch: SECCOMP_ARCH.SCMP_ARCH_X86_64.audit,
      });
      expect({ name, fast: steps <= 14 }).toEqual({ name, fast: true });
    }
  });
});

describe("profiles refused by name", () => {
  const refused = (s: Seccomp) => {
    try {
      compileSeccomp(s);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error("not refused");
  };

  test("an errno for an action that takes none, or out of range", () => {
    expect(refused({ defaultAction: "SCMP_ACT_ALLOW", defaultErrnoRet: 1 })).toBe(
      "linux.seccomp.defaultErrnoRet: SCMP_ACT_ALLOW takes no errno",
    );
    expect(
      refused({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["read"], action: "SCMP_ACT_KILL", errnoRet: 1 }],
      }),
    ).toBe("linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_KILL takes no errno");
    expect(refused({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 5000 })).toBe(
      "linux.seccomp.defaultErrnoRet: must be at most 4095 for SCMP_ACT_ERRNO, got 5000",
    );
  });

  test("notify without a listener, as the default, or metadata without a path", () => {
    expect(refused({ defaultAction: "SCMP_ACT_NOTIFY" })).toBe(
      "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action",
    );
    expect(
      refused({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }],
      }),
    ).toBe("linux.seccomp.listenerPath: is required when a rule uses SCMP_ACT_NOTIFY");
    expect(refused({ defaultAction: "SCMP_ACT_ALLOW", listenerMetadata: "x" })).toBe(
      "linux.seccomp.listenerMetadata: must not be set without listenerPath",
    );
  });

  test("a filter longer than the kernel takes", () => {
    const many = Array.from({ length: 300 }, (_, i) => ({
      names: ["ioctl"],
      action: "SCMP_ACT_ALLOW" as const,
      args: [1, 2, 3].map((index) => ({ index, value: i, op: "SCMP_CMP_GT" as const })),
    }));
    expect(refused({ defaultAction: "SCMP_ACT_ALLOW", syscalls: many })).toMatch(
      /^linux\.seccomp: the filter would be \d+ instructions, more than the kernel's 4096$/,
    );
  });

  test("flags, with NEW_LISTENER added for notify and TSYNC_ESRCH with TSYNC", () => {
    const s: Seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC"],
      listenerPath: "/x",
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }],
    };
    expect(compileSeccomp(s).flags).toBe(2 | 1 | 8 | 16);
    expect(
      compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"] }).flags,
    ).toBe(4);
  });
});
