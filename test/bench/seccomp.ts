// Seccomp figures of the benchmark that need no container: Docker's default
// profile as bunc compiles it and as libseccomp does (the filter runc and
// crun load), in instructions and in the instructions a syscall runs
// through. Plus the probe program that times a syscall inside a container,
// and the compile time bunc reports in its --debug trace.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Seccomp } from "../../src/oci/config.ts";
import { syscallNames, syscallNumber } from "../../src/seccomp/arch.ts";
import { decode, type Insn } from "../../src/seccomp/bpf.ts";
import { compileSeccomp } from "../../src/seccomp/compile.ts";
import { run } from "../../src/seccomp/interpret.ts";
import { SECCOMP_ARCH } from "../../src/sys/constants.ts";
import { PROFILES, referenceFile } from "../fixtures/seccomp/profiles.ts";
import { must } from "./command.ts";
import { type Stat, table } from "./stats.ts";

const FIXTURES = resolve(import.meta.dir, "../fixtures/seccomp");

export const dockerProfile = (): Seccomp => PROFILES.docker!();

/** Syscalls a busy program makes most, whose cost per call matters most. */
const HOT = ["read", "write", "futex", "epoll_wait", "getppid", "personality"] as const;

export interface FilterFigures {
  insns: number;
  /** Most instructions any x86_64 syscall runs through (numbers 0 to the highest known + 64). */
  worst: number;
  hot: Record<string, number>;
}

function figures(program: readonly Insn[]): FilterFigures {
  const arch = SECCOMP_ARCH.SCMP_ARCH_X86_64.audit;
  const steps = (nr: number) => run(program, { nr, arch }).steps;
  const top = Math.max(...Object.values(syscallNames("SCMP_ARCH_X86_64")));
  let worst = 0;
  for (let nr = 0; nr <= top + 64; nr++) worst = Math.max(worst, steps(nr));
  const hot: Record<string, number> = {};
  for (const name of HOT) hot[name] = steps(syscallNumber("SCMP_ARCH_X86_64", name) ?? -1);
  return { insns: program.length, worst, hot };
}

export interface SeccompStatic {
  bunc: FilterFigures;
  libseccomp: FilterFigures;
}

export function seccompStatic(): SeccompStatic {
  return {
    bunc: figures(compileSeccomp(dockerProfile(), "linux.seccomp", "x64").program),
    libseccomp: figures(decode(readFileSync(referenceFile("docker")))),
  };
}

/** The compile time in a `bunc --debug create` trace, in ms. */
export function compileMsOf(trace: string): number {
  const m = /seccomp filter compiled: \d+ instructions in ([\d.]+) ms/.exec(trace);
  if (!m?.[1]) throw new Error(`no compile time in the --debug trace of create:\n${trace}`);
  return Number(m[1]);
}

export function printSeccompStatic(s: SeccompStatic, compileMs: Stat | null): void {
  const rows = [
    ["Docker's profile, x86_64", "bunc", "libseccomp"],
    ["filter length (instructions)", String(s.bunc.insns), String(s.libseccomp.insns)],
    ["most run by any syscall", String(s.bunc.worst), String(s.libseccomp.worst)],
    ...HOT.map((n) => [`run by ${n}`, String(s.bunc.hot[n]), String(s.libseccomp.hot[n])]),
  ];
  console.log(`\n${table(rows)}`);
  console.log(
    `\nbunc compiles it inside create in ${compileMs?.median.toFixed(2)} ms (median of ${compileMs?.n}, ` +
      `p90 ${compileMs?.p90.toFixed(2)}, from its --debug trace); libseccomp's filter is the one its ` +
      "Python binding builds (test/fixtures/seccomp).",
  );
}

/** The static probe (`probe --loop N [NR [ARG]]` prints the ns of one syscall), built into dir. */
export function buildProbe(dir: string): string {
  const out = join(dir, "probe");
  must(["cc", "-O2", "-static", "-o", out, join(FIXTURES, "probe.c")]);
  return out;
}
