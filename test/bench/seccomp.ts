// Seccomp figures of the benchmark that need no container: Docker's default
// profile as bunc compiles it and as libseccomp does (the filter runc and
// crun load), in instructions and in the instructions a syscall runs
// through, and how long bunc's compiler takes. Plus the probe program that
// times a syscall inside a container.
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
import { type Stat, stat, table } from "./stats.ts";

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
  /** bunc's compile of Docker's profile in this process: the first call, then warm ones. */
  compileMs: { first: number; warm: Stat | null };
}

export function seccompStatic(runs: number): SeccompStatic {
  const profile = dockerProfile();
  const time = () => {
    const t0 = performance.now();
    const f = compileSeccomp(profile, "linux.seccomp", "x64");
    return { ms: performance.now() - t0, program: f.program };
  };
  const first = time();
  const warm = Array.from({ length: runs }, () => time().ms);
  return {
    bunc: figures(first.program),
    libseccomp: figures(decode(readFileSync(referenceFile("docker")))),
    compileMs: { first: first.ms, warm: stat(warm) },
  };
}

export function printSeccompStatic(s: SeccompStatic): void {
  const rows = [
    ["Docker's profile, x86_64", "bunc", "libseccomp"],
    ["filter length (instructions)", String(s.bunc.insns), String(s.libseccomp.insns)],
    ["most run by any syscall", String(s.bunc.worst), String(s.libseccomp.worst)],
    ...HOT.map((n) => [`run by ${n}`, String(s.bunc.hot[n]), String(s.libseccomp.hot[n])]),
  ];
  console.log(`\n${table(rows)}`);
  const warm = s.compileMs.warm;
  console.log(
    `\nbunc compiles it in ${s.compileMs.first.toFixed(2)} ms the first time, ` +
      `${warm?.median.toFixed(2)} ms warm (median of ${warm?.n}), in this process; ` +
      "libseccomp's filter is the one its Python binding builds (test/fixtures/seccomp).",
  );
}

/** The static probe (`probe --loop N [NR [ARG]]` prints the ns of one syscall), built into dir. */
export function buildProbe(dir: string): string {
  const out = join(dir, "probe");
  must(["cc", "-O2", "-static", "-o", out, join(FIXTURES, "probe.c")]);
  return out;
}
