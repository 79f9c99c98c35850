// The little of an ELF file the loader checks: the machine it is for, its
// interpreter (which names the C library of an executable) and the
// libraries it needs (which name the C library of a shared object).
// 64-bit little-endian only: every target bunc is built for.

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
type ReadAt = (offset: number, length: number) => Uint8Array;

export type Libc = "glibc" | "musl";

interface ElfInfo {
  /** As process.arch names it: "x64", "arm64", or "elf-machine-N". */
  machine: string;
  interp: string | null;
  needed: string[];
}

const MACHINES: Record<number, string> = { 62: "x64", 183: "arm64" };
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function cString(read: ReadAt, offset: number): string {
  const bytes = read(offset, 256);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(bytes.subarray(0, end < 0 ? bytes.length : end));
}

export function readElf(read: ReadAt): ElfInfo {
  const head = read(0, 64);
  if (head.length < 64 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46)
    throw new Error("not an ELF file");
  if (head[4] !== 2 || head[5] !== 1) throw new Error("not a 64-bit little-endian ELF file");
  const h = view(head);
  const e_machine = h.getUint16(18, true);
  const phoff = Number(h.getBigUint64(32, true));
  const phentsize = h.getUint16(54, true);
  const phnum = h.getUint16(56, true);
  const ph = view(read(phoff, phentsize * phnum));
  const segments = Array.from({ length: phnum }, (_, i) => ({
    type: ph.getUint32(i * phentsize, true),
    offset: Number(ph.getBigUint64(i * phentsize + 8, true)),
    vaddr: Number(ph.getBigUint64(i * phentsize + 16, true)),
    filesz: Number(ph.getBigUint64(i * phentsize + 32, true)),
  }));
  const interpSeg = segments.find((s) => s.type === PT_INTERP);
  const interp = interpSeg ? cString(read, interpSeg.offset) : null;
  const needed: string[] = [];
  const dyn = segments.find((s) => s.type === PT_DYNAMIC);
  if (dyn) {
    const d = view(read(dyn.offset, dyn.filesz));
    const entries: [bigint, bigint][] = [];
    for (let o = 0; o + 16 <= d.byteLength; o += 16) {
      const tag = d.getBigInt64(o, true);
      if (tag === 0n) break;
      entries.push([tag, d.getBigUint64(o + 8, true)]);
    }
    const strtab = Number(entries.find(([t]) => t === DT_STRTAB)?.[1] ?? -1n);
    // DT_STRTAB is an address: the loadable segment holding it gives its place in the file.
    const load = segments.find((s) => s.type === PT_LOAD && s.vaddr <= strtab && strtab < s.vaddr + s.filesz);
    if (load)
      for (const [tag, value] of entries)
        if (tag === DT_NEEDED) needed.push(cString(read, strtab - load.vaddr + load.offset + Number(value)));
  }
  return { machine: MACHINES[e_machine] ?? `elf-machine-${e_machine}`, interp, needed };
}

/** An executable's C library, from its interpreter. */
export function executableLibc(e: ElfInfo): Libc | null {
  if (e.interp?.includes("/ld-musl-")) return "musl";
  if (e.interp?.includes("/ld-linux")) return "glibc";
  return null;
}

/** A shared object's C library, from the libraries it needs. */
export function objectLibc(e: ElfInfo): Libc | null {
  if (e.needed.some((n) => n.startsWith("libc.musl-"))) return "musl";
  if (e.needed.includes("libc.so.6")) return "glibc";
  return null;
}

export const bytesReader =
  (b: Uint8Array): ReadAt =>
  (offset, length) =>
    b.subarray(offset, offset + length);
