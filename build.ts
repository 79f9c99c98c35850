// Builds the C object from ffi/ and the one executable dist/bunc with the C
// object embedded. Bunfig and .env autoload are off: the binary runs as root
// from whatever directory an engine starts it in.
//
// The executable is built twice: the first build is run through a few
// commands that need no root to record which functions start-up uses, and
// the second lays that bytecode out first (Bun's profile-guided layout).
import { $ } from "bun";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import pkg from "./package.json" with { type: "json" };
import { defaultSpec } from "./src/oci/default.ts";

const root = import.meta.dir;
const outfile = `${root}/dist/bunc`;
mkdirSync(`${root}/build`, { recursive: true });
const cflags = ["-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-fvisibility=default"];
await $`cc ${cflags} -o ${root}/build/libbunc.so ${root}/ffi/*.c`.quiet();

const commit = (await $`git -C ${root} rev-parse --short HEAD`.nothrow().quiet()).stdout.toString().trim();

async function build(bytecodeOrder: string[] | null): Promise<void> {
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
    },
    compile: {
      outfile,
      autoloadBunfig: false,
      autoloadDotenv: false,
      autoloadTsconfig: false,
      autoloadPackageJson: false,
      bytecodeOrder: bytecodeOrder ?? false,
    },
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    process.exit(1);
  }
}

/** Start-up profiles: the verbs in order of how often engines call them. */
async function profile(dir: string): Promise<string[]> {
  const bundle = `${dir}/bundle`;
  mkdirSync(`${bundle}/rootfs`, { recursive: true });
  const config = defaultSpec();
  // Refused at the last step of planning, before anything is made: it walks
  // all of create's validation and planning.
  config.process.terminal = false;
  config.process.capabilities!.ambient = ["CAP_PROFILE_ONLY"];
  // A seccomp profile walks the filter compiler too.
  config.linux!.seccomp = {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 38,
    architectures: [
      "SCMP_ARCH_X86_64",
      "SCMP_ARCH_X86",
      "SCMP_ARCH_X32",
      "SCMP_ARCH_AARCH64",
      "SCMP_ARCH_ARM",
    ],
    syscalls: [
      {
        names: ["read", "write", "openat", "close", "execve", "futex", "mmap", "exit_group"],
        action: "SCMP_ACT_ALLOW",
      },
      { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] },
      {
        names: ["clone"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
      },
    ],
  };
  config.linux!.cgroupsPath = `/bunc-build-profile-${process.pid}`;
  writeFileSync(`${bundle}/config.json`, JSON.stringify(config));
  const runs = [
    ["--root", `${dir}/state`, "state", "x"],
    ["--root", `${dir}/state`, "create", "--bundle", bundle, "x"],
    ["--root", `${dir}/state`, "delete", "--force", "x"],
    ["--root", `${dir}/state`, "list"],
    ["spec", "--bundle", `${dir}`],
    ["features"],
  ];
  const files: string[] = [];
  for (const [i, args] of runs.entries()) {
    const file = `${dir}/order-${i}.txt`;
    await $`${outfile} ${args}`.env({ BUN_BYTECODE_ORDER_OUT: file }).nothrow().quiet();
    files.push(file);
  }
  return files;
}

await build(null);
const dir = mkdtempSync(`${tmpdir()}/bunc-build-`);
try {
  await build(await profile(dir));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`built ${outfile}`);
