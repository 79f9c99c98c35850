// linux.seccomp -> a classic BPF program, as libseccomp would build it, in
// TypeScript: bunc runs on hosts without libseccomp.
//
// Shape of the program:
//   load the architecture; jump to its section, or kill (an architecture
//   the filter does not cover, as libseccomp does);
//   per section: load the syscall number and search it in a balanced tree
//   of number ranges (consecutive numbers with the same outcome form one
//   range), so a profile of hundreds of names costs a handful of
//   comparisons per syscall rather than hundreds;
//   a leaf either returns, or tries the syscall's rules in the order the
//   config lists them (the conditions of a rule ANDed, the rules ORed: the
//   first that holds decides) and else returns the default.
// Numbers above the highest the profile names get ENOSYS rather than the
// default, so that programs fall back from syscalls newer than the profile
// (what runc's patchbpf does); with an allowing default they are allowed.
import type { Seccomp } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";
import {
  SECCOMP_ARCH,
  SECCOMP_FILTER_FLAG_NEW_LISTENER,
  SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
  SECCOMP_FLAG,
  type SECCOMP_OPS,
  SECCOMP_RET,
  X32_SYSCALL_BIT,
} from "../sys/constants.ts";
import { type Arch, runnableArches, syscallNumber } from "./arch.ts";
import { u64 } from "../sys/abi.ts";
import { BPF, DATA, type Insn, insn, MAX_INSNS } from "./bpf.ts";

const EPERM = 1;
const ENOSYS = 38;
const MAX_ERRNO = 4095;
const RET_ERRNO = SECCOMP_RET.SCMP_ACT_ERRNO;
const BAD_ARCH = SECCOMP_RET.SCMP_ACT_KILL_THREAD;

interface Cond {
  readonly index: number;
  readonly op: (typeof SECCOMP_OPS)[number];
  readonly value: bigint;
  readonly valueTwo: bigint;
}

interface Rule {
  readonly conds: readonly Cond[];
  readonly ret: number;
}

export interface CompiledFilter {
  readonly program: Insn[];
  /** seccomp(2) flags: the config's, and NEW_LISTENER (with TSYNC_ESRCH) for SCMP_ACT_NOTIFY. */
  readonly flags: number;
  readonly notify: boolean;
  /** The architectures the program has a section for. */
  readonly arches: readonly Arch[];
}

/** The SECCOMP_RET_* value of an action with its errno (or trace message). */
function actionRet(action: keyof typeof SECCOMP_RET, errno: number | undefined, field: string): number {
  const base = SECCOMP_RET[action];
  const takesData = action === "SCMP_ACT_ERRNO" || action === "SCMP_ACT_TRACE";
  if (errno !== undefined && !takesData) throw new ConfigError(field, `${action} takes no errno`);
  if (!takesData) return base;
  const data = errno ?? EPERM;
  const max = action === "SCMP_ACT_ERRNO" ? MAX_ERRNO : 0xffff;
  if (data > max) throw new ConfigError(field, `must be at most ${max} for ${action}, got ${data}`);
  return (base | data) >>> 0;
}

// ---- code generation: each piece is built with its own jumps resolved ----

type Target = "next" | "fail";
interface Pending {
  readonly code: number;
  readonly k: number;
  readonly jt: Target | 0;
  readonly jf: Target | 0;
}

const lo32 = (v: bigint) => Number(v & 0xffffffffn);
const hi32 = (v: bigint) => Number((v >> 32n) & 0xffffffffn);

/** One condition on one argument: jumps to "next" when it holds, "fail" when not. */
function condCode(c: Cond, bits: 32 | 64): Pending[] {
  const j = (code: number, k: number, jt: Target | 0, jf: Target | 0): Pending => ({ code, k, jt, jf });
  const ld = (off: number) => j(BPF.LD_W_ABS, off, 0, 0);
  const { JEQ_K: EQ, JGT_K: GT, JGE_K: GE, AND_K: AND } = BPF;
  // MASKED_EQ holds when (arg & value) == valueTwo; the others compare with value.
  const [value, mask] = c.op === "SCMP_CMP_MASKED_EQ" ? [c.valueTwo, c.value] : [c.value, 0n];
  const vlo = lo32(value);
  const low = ld(DATA.argLow(c.index));
  // A 32-bit architecture's arguments are 32 bits wide: only the low word counts, as with libseccomp.
  if (bits === 32) {
    switch (c.op) {
      case "SCMP_CMP_EQ":
        return [low, j(EQ, vlo, "next", "fail")];
      case "SCMP_CMP_NE":
        return [low, j(EQ, vlo, "fail", "next")];
      case "SCMP_CMP_GT":
        return [low, j(GT, vlo, "next", "fail")];
      case "SCMP_CMP_GE":
        return [low, j(GE, vlo, "next", "fail")];
      case "SCMP_CMP_LT":
        return [low, j(GE, vlo, "fail", "next")];
      case "SCMP_CMP_LE":
        return [low, j(GT, vlo, "fail", "next")];
      case "SCMP_CMP_MASKED_EQ":
        return [low, j(AND, lo32(mask), 0, 0), j(EQ, vlo, "next", "fail")];
    }
  }
  const vhi = hi32(value);
  const high = ld(DATA.argHigh(c.index));
  switch (c.op) {
    case "SCMP_CMP_EQ":
      return [high, j(EQ, vhi, 0, "fail"), low, j(EQ, vlo, "next", "fail")];
    case "SCMP_CMP_NE":
      return [high, j(EQ, vhi, 0, "next"), low, j(EQ, vlo, "fail", "next")];
    case "SCMP_CMP_GT":
      return [high, j(GT, vhi, "next", 0), j(EQ, vhi, 0, "fail"), low, j(GT, vlo, "next", "fail")];
    case "SCMP_CMP_GE":
      return [high, j(GT, vhi, "next", 0), j(EQ, vhi, 0, "fail"), low, j(GE, vlo, "next", "fail")];
    case "SCMP_CMP_LT":
      return [high, j(GT, vhi, "fail", 0), j(EQ, vhi, 0, "next"), low, j(GE, vlo, "fail", "next")];
    case "SCMP_CMP_LE":
      return [high, j(GT, vhi, "fail", 0), j(EQ, vhi, 0, "next"), low, j(GT, vlo, "fail", "next")];
    case "SCMP_CMP_MASKED_EQ":
      return [
        high,
        j(AND, hi32(mask), 0, 0),
        j(EQ, vhi, 0, "fail"),
        low,
        j(AND, lo32(mask), 0, 0),
        j(EQ, vlo, "next", "fail"),
      ];
  }
}

function resolveShort(at: number, target: number): number {
  const off = target - (at + 1);
  if (off < 0 || off > 255) throw new Error(`seccomp: a jump of ${off} does not fit a conditional jump`);
  return off;
}

/** A syscall's rules in order, then the default (appended to out). */
function emitRules(rules: readonly Rule[], fallback: number, bits: 32 | 64, out: Insn[]): void {
  for (const rule of rules) {
    const conds = rule.conds.map((c) => condCode(c, bits));
    const length = conds.reduce((n, c) => n + c.length, 0) + 1;
    const start = out.length;
    const fail = start + length;
    let at = start;
    for (const block of conds) {
      const next = at + block.length;
      for (const p of block) {
        const to = (t: Target | 0) => (t === 0 ? 0 : resolveShort(at, t === "next" ? next : fail));
        out.push(insn(p.code, p.k, to(p.jt), to(p.jf)));
        at++;
      }
    }
    out.push(insn(BPF.RET_K, rule.ret));
    // A rule without conditions always holds: nothing after it is reached.
    if (rule.conds.length === 0) return;
  }
  out.push(insn(BPF.RET_K, fallback));
}

function rulesLength(rules: readonly Rule[], bits: 32 | 64): number {
  let n = 0;
  for (const rule of rules) {
    for (const c of rule.conds) n += condCode(c, bits).length;
    n++;
    if (rule.conds.length === 0) return n;
  }
  return n + 1;
}

/** A range of syscall numbers with one outcome: a return, or a syscall's rules. */
type Segment =
  | { lo: number; ret: number; rules?: undefined }
  | { lo: number; rules: readonly Rule[]; ret: number };

/**
 * A balanced search over the segments' lower bounds (the number is in A).
 * Sizes are measured first, so that the code is written once, in order.
 */
class Tree {
  private readonly sizes = new Map<number, number>();
  constructor(
    private readonly segs: readonly Segment[],
    private readonly bits: 32 | 64,
  ) {}

  private size(a: number, b: number): number {
    const key = a * 65536 + b;
    let n = this.sizes.get(key);
    if (n === undefined) {
      if (b - a === 1) {
        const s = this.segs[a] as Segment;
        n = s.rules ? rulesLength(s.rules, this.bits) : 1;
      } else {
        const mid = (a + b) >> 1;
        const left = this.size(a, mid);
        n = (left <= 255 ? 1 : 2) + left + this.size(mid, b);
      }
      this.sizes.set(key, n);
    }
    return n;
  }

  emit(out: Insn[], a = 0, b = this.segs.length): void {
    if (b - a === 1) {
      const s = this.segs[a] as Segment;
      if (s.rules) emitRules(s.rules, s.ret, this.bits, out);
      else out.push(insn(BPF.RET_K, s.ret));
      return;
    }
    const mid = (a + b) >> 1;
    const left = this.size(a, mid);
    const pivot = (this.segs[mid] as Segment).lo;
    if (left <= 255) out.push(insn(BPF.JGE_K, pivot, left, 0));
    // Too far for a conditional jump: step over an unconditional one.
    else out.push(insn(BPF.JGE_K, pivot, 0, 1), insn(BPF.JA, left));
    this.emit(out, a, mid);
    this.emit(out, mid, b);
  }

  get length(): number {
    return this.size(0, this.segs.length);
  }
}

function segments(
  rules: ReadonlyMap<number, Rule[]>,
  base: number,
  fallback: number,
  above: number,
): Segment[] {
  const out: Segment[] = [];
  const push = (s: Segment) => {
    const last = out.at(-1);
    if (last && !last.rules && !s.rules && last.ret === s.ret) return;
    out.push(s);
  };
  let expect = base;
  for (const nr of [...rules.keys()].sort((a, b) => a - b)) {
    const list = rules.get(nr) ?? [];
    if (nr > expect) push({ lo: expect, ret: fallback });
    const first = list[0];
    if (first && first.conds.length === 0) push({ lo: nr, ret: first.ret });
    else push({ lo: nr, rules: list, ret: fallback });
    expect = nr + 1;
  }
  push({ lo: expect, ret: above });
  return out;
}

function archSection(
  arch: Arch,
  rules: ReadonlyMap<number, Rule[]>,
  fallback: number,
  out: Insn[],
  x32: Tree | null,
): void {
  const tree = archTree(arch, rules, fallback);
  out.push(insn(BPF.LD_W_ABS, DATA.nr));
  if (arch === "SCMP_ARCH_X86_64") {
    // x32 syscalls arrive as x86-64 with bit 30 set in the number.
    const size = tree.length;
    if (size <= 255) out.push(insn(BPF.JGE_K, X32_SYSCALL_BIT, size, 0));
    else out.push(insn(BPF.JGE_K, X32_SYSCALL_BIT, 0, 1), insn(BPF.JA, size));
    tree.emit(out);
    if (x32) x32.emit(out);
    else out.push(insn(BPF.RET_K, BAD_ARCH));
    return;
  }
  tree.emit(out);
}

function archTree(arch: Arch, rules: ReadonlyMap<number, Rule[]>, fallback: number): Tree {
  const bits = SECCOMP_ARCH[arch].bits;
  const base = arch === "SCMP_ARCH_X32" ? X32_SYSCALL_BIT : 0;
  const allowing = fallback === SECCOMP_RET.SCMP_ACT_ALLOW || fallback === SECCOMP_RET.SCMP_ACT_LOG;
  const above = allowing || rules.size === 0 ? fallback : (RET_ERRNO | ENOSYS) >>> 0;
  return new Tree(segments(rules, base, fallback, above), bits);
}

/** machine: process.arch of the host the filter is for (tests build arm64 filters on x86-64). */
export function compileSeccomp(s: Seccomp, field = "linux.seccomp", machine = process.arch): CompiledFilter {
  if (s.defaultAction === "SCMP_ACT_NOTIFY") {
    throw new ConfigError(`${field}.defaultAction`, "SCMP_ACT_NOTIFY cannot be the default action");
  }
  const fallback = actionRet(s.defaultAction, s.defaultErrnoRet, `${field}.defaultErrnoRet`);
  const runnable = runnableArches(machine);
  // The native architecture always; a listed one this machine cannot run
  // would never reach the filter.
  const arches = runnable.filter((a, i) => i === 0 || (s.architectures ?? []).includes(a));
  const perArch = new Map<Arch, Map<number, Rule[]>>(arches.map((a) => [a, new Map()]));
  let notify = false;
  (s.syscalls ?? []).forEach((entry, i) => {
    const where = `${field}.syscalls[${i}]`;
    const ret = actionRet(entry.action, entry.errnoRet, `${where}.errnoRet`);
    notify ||= entry.action === "SCMP_ACT_NOTIFY";
    const conds = (entry.args ?? []).map(
      (a): Cond => ({ index: a.index, op: a.op, value: u64(a.value), valueTwo: u64(a.valueTwo ?? 0) }),
    );
    const rule: Rule = { conds, ret };
    for (const arch of arches) {
      const rules = perArch.get(arch) as Map<number, Rule[]>;
      for (const name of entry.names) {
        // A name this architecture does not have is skipped, as libseccomp does.
        const nr = syscallNumber(arch, name);
        if (nr === undefined) continue;
        const list = rules.get(nr);
        if (list) list.push(rule);
        else rules.set(nr, [rule]);
      }
    }
  });
  if (notify && !s.listenerPath) {
    throw new ConfigError(`${field}.listenerPath`, "is required when a rule uses SCMP_ACT_NOTIFY");
  }
  if (s.listenerMetadata !== undefined && !s.listenerPath) {
    throw new ConfigError(`${field}.listenerMetadata`, "must not be set without listenerPath");
  }

  const x32Rules = perArch.get("SCMP_ARCH_X32");
  const x32 = x32Rules ? archTree("SCMP_ARCH_X32", x32Rules, fallback) : null;
  const program = dispatch(
    arches.filter((a) => a !== "SCMP_ARCH_X32"),
    (arch, out) => archSection(arch, perArch.get(arch) as Map<number, Rule[]>, fallback, out, x32),
  );
  if (program.length > MAX_INSNS) {
    throw new ConfigError(
      field,
      `the filter would be ${program.length} instructions, more than the kernel's ${MAX_INSNS}`,
    );
  }
  let flags = (s.flags ?? []).reduce((f, name) => f | SECCOMP_FLAG[name], 0);
  if (notify) {
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    // With a listener, TSYNC must be told to report rather than fail.
    if (flags & SECCOMP_FLAG.SECCOMP_FILTER_FLAG_TSYNC) flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  }
  return { program, flags, notify, arches };
}

/**
 * Load the architecture and jump to its section; an uncovered one is
 * killed. The jumps are patched once each section's length is known.
 */
function dispatch(arches: readonly Arch[], section: (arch: Arch, out: Insn[]) => void): Insn[] {
  const out: Insn[] = [insn(BPF.LD_W_ABS, DATA.arch)];
  for (const arch of arches) out.push(insn(BPF.JEQ_K, SECCOMP_ARCH[arch].audit, 0, 1), insn(BPF.JA, 0));
  out.push(insn(BPF.RET_K, BAD_ARCH));
  arches.forEach((arch, i) => {
    const ja = 2 + 2 * i;
    out[ja] = insn(BPF.JA, out.length - (ja + 1));
    section(arch, out);
  });
  return out;
}
