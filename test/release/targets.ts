// The platforms a release is built for: Bun's compile target, and how to
// build the C object for it from an x86-64 Debian machine (the toolchains
// and sysroots `sh test/host-deps.sh release` installs).
import { resolve } from "node:path";

const root = resolve(import.meta.dir, "../..");
/** musl for arm64 is unpacked here from Debian's musl and musl-dev packages for arm64. */
const ARM64_MUSL_SYSROOT = `${root}/build/sysroot/arm64-musl`;

/** musl for one machine: headers, the shared libc, and the directory with crt*.o and libc.a. */
export interface Musl {
  include: string;
  libc: string;
  lib: string;
  soname: string;
  /** Its dynamic loader, as programs name it. */
  loader: string;
  cflags: string[];
}

/** Every target's waiter (ffi/waiter/) is static with musl: small, and free of the host's C library. */
export const MUSL: Record<"x64" | "arm64", Musl> = {
  x64: {
    include: "/usr/include/x86_64-linux-musl",
    libc: "/usr/lib/x86_64-linux-musl/libc.so",
    lib: "/usr/lib/x86_64-linux-musl",
    soname: "libc.musl-x86_64.so.1",
    loader: "/lib/ld-musl-x86_64.so.1",
    cflags: [],
  },
  arm64: {
    include: `${ARM64_MUSL_SYSROOT}/usr/include/aarch64-linux-musl`,
    libc: `${ARM64_MUSL_SYSROOT}/lib/aarch64-linux-musl/libc.so`,
    lib: `${ARM64_MUSL_SYSROOT}/usr/lib/aarch64-linux-musl`,
    soname: "libc.musl-aarch64.so.1",
    loader: "/lib/ld-musl-aarch64.so.1",
    // Outline atomics call helpers of glibc's libgcc build; inline ones need nothing.
    cflags: ["-mno-outline-atomics"],
  },
};

export interface Target {
  name: "linux-x64" | "linux-x64-musl" | "linux-arm64" | "linux-arm64-musl";
  bun: "bun-linux-x64" | "bun-linux-x64-musl" | "bun-linux-arm64" | "bun-linux-arm64-musl";
  arch: "x64" | "arm64";
  cc: string;
  strip: string;
  cflags: string[];
  /** linux/, asm/ and asm-generic/ for this machine. */
  kernelHeaders: Record<string, string>;
  /** Set for the musl targets: the C object is built against it. */
  musl?: Musl;
}

const x64Kernel = {
  linux: "/usr/include/linux",
  asm: "/usr/include/x86_64-linux-gnu/asm",
  "asm-generic": "/usr/include/asm-generic",
};
const arm64Kernel = {
  linux: "/usr/aarch64-linux-gnu/include/linux",
  asm: "/usr/aarch64-linux-gnu/include/asm",
  "asm-generic": "/usr/aarch64-linux-gnu/include/asm-generic",
};

export const TARGETS: Target[] = [
  {
    name: "linux-x64",
    bun: "bun-linux-x64",
    arch: "x64",
    cc: "gcc",
    strip: "strip",
    cflags: [],
    kernelHeaders: x64Kernel,
  },
  {
    name: "linux-x64-musl",
    bun: "bun-linux-x64-musl",
    arch: "x64",
    cc: "gcc",
    strip: "strip",
    cflags: [],
    kernelHeaders: x64Kernel,
    musl: MUSL.x64,
  },
  {
    name: "linux-arm64",
    bun: "bun-linux-arm64",
    arch: "arm64",
    cc: "aarch64-linux-gnu-gcc",
    strip: "aarch64-linux-gnu-strip",
    cflags: [],
    kernelHeaders: arm64Kernel,
  },
  {
    name: "linux-arm64-musl",
    bun: "bun-linux-arm64-musl",
    arch: "arm64",
    cc: "aarch64-linux-gnu-gcc",
    strip: "aarch64-linux-gnu-strip",
    cflags: [],
    kernelHeaders: arm64Kernel,
    musl: MUSL.arm64,
  },
];

/** The target of the machine building: its binary is dist/bunc. */
export function hostTarget(): Target {
  const t = TARGETS.find((t) => t.arch === process.arch && !t.musl);
  if (!t) throw new Error(`no target for a ${process.arch} build host`);
  return t;
}
