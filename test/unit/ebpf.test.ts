import { describe, expect, test } from "bun:test";
import { deviceEntries } from "../../src/cgroups/devices.ts";
import { deviceProgram, encode } from "../../src/cgroups/ebpf.ts";

// A tiny interpreter of the instructions deviceProgram emits, to check the
// program's decisions without loading it into a kernel.
function run(
  prog: ReturnType<typeof deviceProgram>,
  type: "b" | "c",
  major: number,
  minor: number,
  access: string,
): number {
  const acc = [...access].reduce((m, c) => m | ({ m: 1, r: 2, w: 4 } as Record<string, number>)[c]!, 0);
  const ctx = [(acc << 16) | (type === "b" ? 1 : 2), major, minor];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0; pc < prog.length; pc++) {
    const [code, dst, src, off, imm] = prog[pc]!;
    switch (code) {
      case 0x61:
        r[dst] = ctx[off / 4]! >>> 0;
        break;
      case 0x57:
        r[dst] = r[dst]! & imm;
        break;
      case 0x77:
        r[dst] = r[dst]! >>> imm;
        break;
      case 0xbf:
        r[dst] = r[src]!;
        break;
      case 0xb7:
        r[dst] = imm;
        break;
      case 0x55:
        if (r[dst] !== imm) pc += off;
        break;
      case 0x15:
        if (r[dst] === imm) pc += off;
        break;
      case 0x95:
        return r[0]!;
      default:
        throw new Error(`unknown opcode ${code}`);
    }
  }
  throw new Error("fell off the program");
}

describe("cgroup v2 device program", () => {
  const prog = deviceProgram(deviceEntries([{ allow: false, access: "rwm" }]));

  test("deny-all then the default allow list", () => {
    expect(run(prog, "c", 1, 3, "rw")).toBe(1);
    expect(run(prog, "c", 1, 9, "r")).toBe(1);
    expect(run(prog, "c", 136, 7, "rw")).toBe(1);
    expect(run(prog, "c", 5, 2, "rw")).toBe(1);
    expect(run(prog, "b", 8, 0, "m")).toBe(1);
    expect(run(prog, "c", 10, 200, "m")).toBe(1);
    expect(run(prog, "c", 1, 11, "r")).toBe(0);
    expect(run(prog, "b", 8, 0, "r")).toBe(0);
    expect(run(prog, "c", 10, 200, "rw")).toBe(0);
  });

  test("later rules win; a partial deny refuses only what it names", () => {
    const p = deviceProgram([
      ...deviceEntries([]),
      { allow: false, type: "c", major: 1, minor: 3, access: "w" },
    ]);
    expect(run(p, "c", 1, 3, "r")).toBe(1);
    expect(run(p, "c", 1, 3, "w")).toBe(0);
    expect(run(p, "c", 4, 4, "rw")).toBe(1);
  });

  test("an allow rule must grant every access asked for", () => {
    const p = deviceProgram([
      { allow: false, type: "a", major: -1, minor: -1, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 5, access: "r" },
    ]);
    expect(run(p, "c", 1, 5, "r")).toBe(1);
    expect(run(p, "c", 1, 5, "rw")).toBe(0);
  });

  test("encoding: 8 bytes an instruction, registers packed src<<4|dst", () => {
    const bytes = encode([
      [0xbf, 6, 3, 0, 0],
      [0x55, 2, 0, 5, 2],
    ]);
    expect([...bytes]).toEqual([0xbf, 0x36, 0, 0, 0, 0, 0, 0, 0x55, 0x02, 5, 0, 2, 0, 0, 0]);
  });
});
