// Which platform this bunc is for, and the check that the C object built
// into it is for the platform it runs on: a binary assembled from the wrong
// pieces fails at once with a sentence, not in dlopen or a stray syscall.
import { closeSync, openSync, readSync } from "node:fs";
import { bytesReader, executableLibc, type Libc, objectLibc, readElf } from "./elf.ts";

declare const BUNC_TARGET: string;

let running: Libc | null | undefined;

/** The running process's C library, from the interpreter of its executable (read once). */
function runningLibc(): Libc | null {
  if (running !== undefined) return running;
  const fd = openSync("/proc/self/exe", "r");
  try {
    running = executableLibc(
      readElf((offset, length) => {
        const b = Buffer.alloc(length);
        return b.subarray(0, readSync(fd, b, 0, length, offset));
      }),
    );
    return running;
  } finally {
    closeSync(fd);
  }
}

const name = (arch: string, libc: Libc | null) => `linux-${arch}${libc === "musl" ? "-musl" : ""}`;

/** The build's target (linux-x64, linux-arm64-musl, ...); from source, the running platform's. */
export function target(): string {
  return typeof BUNC_TARGET === "string" ? BUNC_TARGET : name(process.arch, runningLibc());
}

/**
 * Throws unless an ELF file bunc carries (the C object, the waiter) is for
 * this process's machine and, if it needs one, its C library.
 */
export function checkObject(
  object: Uint8Array,
  what = "the C object",
  arch: string = process.arch,
  libc = runningLibc(),
): void {
  const elf = readElf(bytesReader(object));
  const wanted = objectLibc(elf);
  if (elf.machine === arch && (wanted === null || libc === null || wanted === libc)) return;
  throw new Error(
    `${what} built into bunc is for ${name(elf.machine, wanted)} but this process runs on ${name(arch, libc)}: ` +
      "use the bunc binary built for this platform",
  );
}
