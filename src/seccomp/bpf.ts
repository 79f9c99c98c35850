// Classic BPF as seccomp runs it: struct sock_filter { u16 code; u8 jt; u8
// jf; u32 k }, and the layout of struct seccomp_data it reads.

export interface Insn {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

export const BPF = {
  LD_W_ABS: 0x20,
  LD_W_LEN: 0x80,
  LD_IMM: 0x00,
  LD_MEM: 0x60,
  LDX_IMM: 0x01,
  LDX_MEM: 0x61,
  LDX_LEN: 0x81,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  MISC: 0x07,
  JA: 0x05,
  JEQ_K: 0x15,
  JGT_K: 0x25,
  JGE_K: 0x35,
  JSET_K: 0x45,
  AND_K: 0x54,
  RET_K: 0x06,
} as const;

/** Offsets in struct seccomp_data (little-endian: the low word of an argument comes first). */
export const DATA = {
  nr: 0,
  arch: 4,
  argLow: (i: number) => 16 + 8 * i,
  argHigh: (i: number) => 20 + 8 * i,
  size: 64,
} as const;

/** The kernel's limit on a filter's length (BPF_MAXINSNS). */
export const MAX_INSNS = 4096;

export const insn = (code: number, k: number, jt = 0, jf = 0): Insn => ({ code, jt, jf, k: k >>> 0 });

export function encode(prog: readonly Insn[]): Buffer {
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((p, i) => {
    buf.writeUInt16LE(p.code, i * 8);
    buf.writeUInt8(p.jt, i * 8 + 2);
    buf.writeUInt8(p.jf, i * 8 + 3);
    buf.writeUInt32LE(p.k >>> 0, i * 8 + 4);
  });
  return buf;
}

export function decode(buf: Uint8Array): Insn[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Insn[] = [];
  for (let off = 0; off + 8 <= b.length; off += 8) {
    out.push({
      code: b.readUInt16LE(off),
      jt: b[off + 2] ?? 0,
      jf: b[off + 3] ?? 0,
      k: b.readUInt32LE(off + 4),
    });
  }
  return out;
}
