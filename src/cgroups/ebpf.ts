// The cgroup v2 device filter: the device rules compiled to an eBPF
// program of type CGROUP_DEVICE, loaded and attached with bpf(2).
// Rules are checked last to first and the first match decides, which is
// the v1 list's meaning; no match allows, as the v1 root does.
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { ptr } from "bun:ffi";
import { keepAlive } from "../sys/abi.ts";
import { cstr } from "../sys/mem.ts";
import type { DeviceEntry } from "./devices.ts";

const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_QUERY = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
const BPF_F_ALLOW_MULTI = 2;
// bpf_cgroup_dev_ctx: access_type = access << 16 | type; major; minor.
const DEV_BLOCK = 1;
const DEV_CHAR = 2;
const ACC = { m: 1, r: 2, w: 4 } as const;

type Insn = readonly [code: number, dst: number, src: number, off: number, imm: number];

const ldxw = (dst: number, off: number): Insn => [0x61, dst, 1, off, 0];
const andK = (dst: number, imm: number): Insn => [0x57, dst, 0, 0, imm];
const rshK = (dst: number, imm: number): Insn => [0x77, dst, 0, 0, imm];
const movX = (dst: number, src: number): Insn => [0xbf, dst, src, 0, 0];
const movK = (dst: number, imm: number): Insn => [0xb7, dst, 0, 0, imm];
const jneK = (dst: number, imm: number, off: number): Insn => [0x55, dst, 0, off, imm];
const jeqK = (dst: number, imm: number, off: number): Insn => [0x15, dst, 0, off, imm];
const exit: Insn = [0x95, 0, 0, 0, 0];

function accessMask(access: string): number {
  let m = 0;
  for (const c of access) m |= ACC[c as keyof typeof ACC] ?? 0;
  return m;
}

/** One rule: its tests jump past the rule (to `skip`) when it does not match. */
function ruleBlock(e: DeviceEntry): Insn[] {
  const tests: ((skip: number) => Insn)[] = [];
  if (e.type !== "a") tests.push((skip) => jneK(2, e.type === "b" ? DEV_BLOCK : DEV_CHAR, skip));
  if (e.major >= 0) tests.push((skip) => jneK(4, e.major, skip));
  if (e.minor >= 0) tests.push((skip) => jneK(5, e.minor, skip));
  const mask = accessMask(e.access);
  // An allow rule covers a request only if it grants every access asked
  // for; a deny rule refuses a request that asks for any access it names.
  const accessTest = e.allow ? [movX(6, 3), andK(6, ~mask & 7)] : [movX(6, 3), andK(6, mask)];
  const total = tests.length + accessTest.length + 1 + 2;
  const out: Insn[] = tests.map((t, i) => t(total - i - 1));
  out.push(...accessTest);
  const at = out.length;
  out.push(e.allow ? jneK(6, 0, total - at - 1) : jeqK(6, 0, total - at - 1));
  out.push(movK(0, e.allow ? 1 : 0), exit);
  return out;
}

export function deviceProgram(entries: readonly DeviceEntry[]): Insn[] {
  const prog: Insn[] = [ldxw(2, 0), andK(2, 0xffff), ldxw(3, 0), rshK(3, 16), ldxw(4, 4), ldxw(5, 8)];
  for (const e of [...entries].reverse()) prog.push(...ruleBlock(e));
  prog.push(movK(0, 1), exit);
  return prog;
}

export function encode(prog: readonly Insn[]): Buffer {
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach(([code, dst, src, off, imm], i) => {
    buf.writeUInt8(code, i * 8);
    buf.writeUInt8((src << 4) | dst, i * 8 + 1);
    buf.writeInt16LE(off, i * 8 + 2);
    buf.writeInt32LE(imm | 0, i * 8 + 4);
  });
  return buf;
}

/** Loads the program for entries and attaches it to the cgroup2 directory fd. */
export function attachDeviceFilter(cgroupFd: number, entries: readonly DeviceEntry[]): void {
  const insns = encode(deviceProgram(entries));
  const license = cstr("Apache-2.0");
  const load = Buffer.alloc(128);
  load.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, 0);
  load.writeUInt32LE(insns.length / 8, 4);
  load.writeBigUInt64LE(BigInt(ptr(insns)), 8);
  load.writeBigUInt64LE(BigInt(ptr(license)), 16);
  const prog = check(sys.bunc_bpf(BPF_PROG_LOAD, load, load.length), "load the cgroup v2 device filter");
  keepAlive(insns, license);
  try {
    const attach = Buffer.alloc(32);
    attach.writeUInt32LE(cgroupFd, 0);
    attach.writeUInt32LE(prog, 4);
    attach.writeUInt32LE(BPF_CGROUP_DEVICE, 8);
    attach.writeUInt32LE(BPF_F_ALLOW_MULTI, 12);
    check(sys.bunc_bpf(BPF_PROG_ATTACH, attach, attach.length), "attach the cgroup v2 device filter");
  } finally {
    sys.bunc_close(prog);
  }
}

/** How many device programs are attached to a cgroup2 directory itself. */
export function attachedDevicePrograms(cgroupFd: number): number {
  // bpf_attr.query: target_fd, attach_type, query_flags, attach_flags, prog_ids, prog_cnt.
  const query = Buffer.alloc(40);
  query.writeUInt32LE(cgroupFd, 0);
  query.writeUInt32LE(BPF_CGROUP_DEVICE, 4);
  check(sys.bunc_bpf(BPF_PROG_QUERY, query, query.length), "query the cgroup v2 device filters");
  return query.readUInt32LE(24);
}
