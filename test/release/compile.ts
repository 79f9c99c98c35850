// Compiling bunc for a target: its C object with that target's compiler and
// C library, and the executable with Bun's compile target for it. build.ts
// builds the host's binary and the release with these; the release check
// builds a deliberately mismatched one.
import { $ } from "bun";
import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import { dirname, resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { MUSL, type Musl, type Target } from "./targets.ts";

const root = resolve(import.meta.dir, "../..");
const cflags = ["-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-fvisibility=default"];

export const gitCommit = async () =>
  (await $`git -C ${root} rev-parse --short HEAD`.nothrow().quiet()).stdout.toString().trim();

/** Kernel headers for a target, alone: musl's own headers come first, these after. */
function kernelHeaders(t: Target): string {
  const dir = `${root}/build/${t.name}/kernel-include`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, from] of Object.entries(t.kernelHeaders)) symlinkSync(from, `${dir}/${name}`);
  return dir;
}

async function compilerPaths(cc: string): Promise<{ include: string; libgcc: string }> {
  const include = (await $`${cc} -print-file-name=include`.quiet()).stdout.toString().trim();
  const libgcc = (await $`${cc} -print-libgcc-file-name`.quiet()).stdout.toString().trim();
  return { include, libgcc };
}

/** musl's headers instead of the compiler's libc's, the kernel's after them. */
const muslFlags = (t: Target, musl: Musl, ccInclude: string) => [
  ...musl.cflags,
  "-nostdinc",
  "-isystem",
  musl.include,
  "-isystem",
  ccInclude,
  "-idirafter",
  kernelHeaders(t),
];

/**
 * The C object for a target, built with that target's compiler. For musl the
 * compiler's own libc is kept out (-nostdinc, -nostdlib) and musl's headers
 * and libc are named instead, under the name musl's loader answers to.
 */
export async function buildObject(t: Target): Promise<string> {
  const dir = `${root}/build/${t.name}`;
  mkdirSync(dir, { recursive: true });
  const object = `${dir}/libbunc.so`;
  const flags = [...cflags, ...t.cflags];
  if (t.musl) {
    const { include, libgcc } = await compilerPaths(t.cc);
    rmSync(`${dir}/${t.musl.soname}`, { force: true });
    symlinkSync(t.musl.libc, `${dir}/${t.musl.soname}`);
    flags.push(...muslFlags(t, t.musl, include));
    await $`${t.cc} ${flags} -o ${object} ${root}/ffi/*.c -nostdlib -L${dir} -l:${t.musl.soname} ${libgcc}`.quiet();
  } else {
    await $`${t.cc} ${flags} -o ${object} ${root}/ffi/*.c`.quiet();
  }
  await $`${t.strip} --strip-unneeded ${object}`.quiet();
  return object;
}

/**
 * A program for a target's machine, linked with its musl: static (what it
 * does not call is left out), or dynamic against musl's loader (its libc
 * needed as "libc.so", which musl's loader answers to itself).
 */
export async function buildMuslProgram(
  t: Target,
  sources: string[],
  out: string,
  linkStatic: boolean,
): Promise<void> {
  const musl = MUSL[t.arch];
  mkdirSync(dirname(out), { recursive: true });
  const { include, libgcc } = await compilerPaths(t.cc);
  const l = musl.lib;
  const link = linkStatic
    ? ["-static", "-Wl,--gc-sections", `${l}/crt1.o`, `${l}/crti.o`, ...sources, `${l}/libc.a`]
    : [
        "-fPIE",
        "-pie",
        `-Wl,-dynamic-linker,${musl.loader}`,
        `${l}/Scrt1.o`,
        `${l}/crti.o`,
        ...sources,
        `-L${dirname(musl.libc)}`,
        "-l:libc.so",
      ];
  const flags = ["-O2", "-Wall", "-Wextra", "-Werror", "-ffunction-sections", "-fdata-sections"];
  await $`${t.cc} ${flags} ${muslFlags(t, musl, include)} -nostdlib -o ${out} ${link} ${libgcc} ${l}/crtn.o`.quiet();
}

/** The waiter for a target's machine (ffi/waiter/): static with musl, from the acts it makes. */
export async function buildWaiter(t: Target): Promise<string> {
  const out = `${root}/build/${t.name}/bunc-wait.elf`;
  const sources = ["waiter/main.c", "final.c", "common.c", "seccomp.c", "fds.c"].map(
    (f) => `${root}/ffi/${f}`,
  );
  await buildMuslProgram(t, sources, out, true);
  await $`${t.strip} ${out}`.quiet();
  return out;
}

export interface Binary {
  /** Where the binary goes. */
  outfile: string;
  target: Target;
  /** The target's C object and waiter; absent: build/libbunc.so and build/bunc-wait.elf, the host's. */
  object?: { lib: string; waiter: string };
  /** Bytecode order files from profile runs (Bun's profile-guided layout). */
  order: string[] | null;
}

/** One executable: src/main.ts compiled for a target, the C object embedded. */
export async function buildBinary({ outfile, target, object, order }: Binary): Promise<void> {
  const commit = await gitCommit();
  const result = await Bun.build({
    entrypoints: [`${root}/src/main.ts`],
    target: "bun",
    format: "esm",
    bytecode: true,
    splitting: true,
    minify: true,
    define: {
      BUNC_VERSION: JSON.stringify(pkg.version),
      BUNC_COMMIT: JSON.stringify(commit || "unknown"),
      BUNC_TARGET: JSON.stringify(target.name),
    },
    // A target's binary carries that target's C object and waiter in place of the host's.
    plugins: object
      ? [
          {
            name: "target-object",
            setup(b) {
              b.onResolve({ filter: /build\/libbunc\.so$/ }, () => ({ path: object.lib }));
              b.onResolve({ filter: /build\/bunc-wait\.elf$/ }, () => ({ path: object.waiter }));
            },
          },
        ]
      : [],
    compile: {
      outfile,
      target: target.bun,
      autoloadBunfig: false,
      autoloadDotenv: false,
      autoloadTsconfig: false,
      autoloadPackageJson: false,
      bytecodeOrder: order ?? false,
    },
  });
  if (!result.success) throw new AggregateError(result.logs, `cannot build ${outfile}`);
}
