// The architectures a filter covers and their syscall numbers.
import { SECCOMP_ARCH } from "../sys/constants.ts";
import { SYSCALL_TABLES } from "./syscalls.ts";

export type Arch = keyof typeof SECCOMP_ARCH;

type Table = Readonly<Record<string, number>>;
const parsed = new Map<Arch, Table>();

function table(arch: Arch): Table {
  let t = parsed.get(arch);
  if (!t) {
    t = JSON.parse(SYSCALL_TABLES[SECCOMP_ARCH[arch].table]) as Table;
    parsed.set(arch, t);
  }
  return t;
}

/** The number of a syscall on an architecture, or undefined where it has none (parsed on first use). */
export function syscallNumber(arch: Arch, name: string): number | undefined {
  const t = table(arch);
  return Object.hasOwn(t, name) ? t[name] : undefined;
}

/** Every syscall of an architecture: name -> number. */
export const syscallNames = (arch: Arch): Table => table(arch);

/** The architecture bunc runs as, and those whose syscalls its kernel also runs (first the native one). */
export function runnableArches(machine = process.arch): Arch[] {
  if (machine === "x64") return ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
  if (machine === "arm64") return ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"];
  throw new Error(`seccomp: bunc has no syscall tables for the ${machine} architecture`);
}
