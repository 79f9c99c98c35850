// A classic BPF interpreter for seccomp programs: what the kernel would
// return for a syscall, and how many instructions it ran. create uses it to
// refuse a profile that would stop the runtime's own last steps; the tests
// use it to check every decision, and to compare with libseccomp's filters.
import { DATA, decode, type Insn } from "./bpf.ts";

export interface SyscallData {
  readonly nr: number;
  readonly arch: number;
  readonly args?: readonly bigint[];
  readonly ip?: bigint;
}

export interface Outcome {
  /** The 32-bit SECCOMP_RET_* value. */
  readonly ret: number;
  /** Instructions executed. */
  readonly steps: number;
}

function dataWord(d: SyscallData, off: number): number {
  if (off % 4 !== 0 || off < 0 || off + 4 > DATA.size) throw new Error(`bad seccomp_data offset ${off}`);
  if (off === DATA.nr) return d.nr >>> 0;
  if (off === DATA.arch) return d.arch >>> 0;
  const word = (v: bigint, high: boolean) => Number(BigInt.asUintN(32, high ? v >> 32n : v));
  if (off < 16) return word(d.ip ?? 0n, off === 12);
  const i = Math.floor((off - 16) / 8);
  return word(d.args?.[i] ?? 0n, (off - 16) % 8 === 4);
}

export function run(program: readonly Insn[] | Uint8Array, data: SyscallData): Outcome {
  const prog = program instanceof Uint8Array ? decode(program) : program;
  let a = 0;
  let x = 0;
  const mem = new Uint32Array(16);
  for (let pc = 0, steps = 1; pc < prog.length; pc++, steps++) {
    const { code, jt, jf, k } = prog[pc] as Insn;
    const src = code & 0x08 ? x : k;
    switch (code & 0x07) {
      case 0x00: // LD
        if ((code & 0xe0) === 0x20 && (code & 0x18) === 0) a = dataWord(data, k);
        else if ((code & 0xe0) === 0x00) a = k;
        else if ((code & 0xe0) === 0x60) a = mem[k] ?? 0;
        else if ((code & 0xe0) === 0x80) a = DATA.size;
        else throw new Error(`unsupported load 0x${code.toString(16)} at ${pc}`);
        break;
      case 0x01: // LDX
        if ((code & 0xe0) === 0x00) x = k;
        else if ((code & 0xe0) === 0x60) x = mem[k] ?? 0;
        else if ((code & 0xe0) === 0x80) x = DATA.size;
        else throw new Error(`unsupported load 0x${code.toString(16)} at ${pc}`);
        break;
      case 0x02:
        mem[k] = a;
        break;
      case 0x03:
        mem[k] = x;
        break;
      case 0x04: // ALU
        a = alu(code & 0xf0, a, src) >>> 0;
        break;
      case 0x05: {
        // JMP
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += k;
          break;
        }
        const taken =
          op === 0x10
            ? a === src
            : op === 0x20
              ? a > src
              : op === 0x30
                ? a >= src
                : op === 0x40
                  ? (a & src) !== 0
                  : null;
        if (taken === null) throw new Error(`unsupported jump 0x${code.toString(16)} at ${pc}`);
        pc += taken ? jt : jf;
        break;
      }
      case 0x06:
        return { ret: (code & 0x18) === 0x10 ? a : k, steps };
      case 0x07:
        if (code & 0x80) a = x;
        else x = a;
        break;
    }
  }
  throw new Error("the program ran off its end");
}

function alu(op: number, a: number, b: number): number {
  switch (op) {
    case 0x00:
      return a + b;
    case 0x10:
      return a - b;
    case 0x20:
      return Math.imul(a, b);
    case 0x30:
      return b === 0 ? 0 : Math.floor(a / b);
    case 0x40:
      return a | b;
    case 0x50:
      return a & b;
    case 0x60:
      return b >= 32 ? 0 : a << b;
    case 0x70:
      return b >= 32 ? 0 : a >>> b;
    case 0x80:
      return -a;
    case 0x90:
      return b === 0 ? 0 : a % b;
    case 0xa0:
      return a ^ b;
    default:
      throw new Error(`unsupported ALU op 0x${op.toString(16)}`);
  }
}
