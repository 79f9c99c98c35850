// Builds the C object from ffi/ and the one executable dist/bunc with the C
// object embedded. Bunfig and .env autoload are off: the binary runs as root
// from whatever directory an engine starts it in.
//
// The executable is built twice: the first build is run through a few
// commands that need no root to record which functions start-up uses, and
// the second lays that bytecode out first (Bun's profile-guided layout).
//
// `--release` also builds dist/release/: one binary for each target in
// TARGETS, each with its own C object compiled for that machine and C
// library (src/sys/target.ts checks the pair at start), SHA256SUMS and
// release notes. Cross toolchains: `sh test/host-deps.sh release`.
import { $ } from "bun";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import pkg from "./package.json" with { type: "json" };
import { defaultSpec } from "./src/oci/default.ts";
import { type Binary, buildBinary, buildObject, buildWaiter, gitCommit } from "./test/release/compile.ts";
import { hostTarget, TARGETS } from "./test/release/targets.ts";

const root = import.meta.dir;
const outfile = `${root}/dist/bunc`;
const release = process.argv.includes("--release");
mkdirSync(`${root}/build`, { recursive: true });
const commit = await gitCommit();

const host = hostTarget();
// Source runs (bun src/main.ts) and the host's binary carry these.
copyFileSync(await buildObject(host), `${root}/build/libbunc.so`);
copyFileSync(await buildWaiter(host), `${root}/build/bunc-wait.elf`);

const build = (order: string[] | null, to: Omit<Binary, "order"> = { outfile, target: host }) =>
  buildBinary({ ...to, order });

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

/**
 * dist/release: the host's binary as built above, the others built with the
 * same bytecode order (the same bundle), SHA256SUMS and release notes.
 */
async function buildRelease(order: string[]): Promise<void> {
  const out = `${root}/dist/release`;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const t of TARGETS) {
    const file = `${out}/bunc-${t.name}`;
    if (t === host) copyFileSync(outfile, file);
    else
      await build(order, {
        outfile: file,
        target: t,
        object: { lib: await buildObject(t), waiter: await buildWaiter(t) },
      });
    console.log(`built ${file}`);
  }
  const sums = TARGETS.map((t) => {
    const hash = new Bun.CryptoHasher("sha256").update(readFileSync(`${out}/bunc-${t.name}`)).digest("hex");
    return `${hash}  bunc-${t.name}\n`;
  });
  writeFileSync(`${out}/SHA256SUMS`, sums.join(""));
  writeFileSync(`${out}/release-notes.md`, await releaseNotes());
}

/** The subjects of the commits since the last tag (all of them before the first). */
async function releaseNotes(): Promise<string> {
  const tag = (await $`git -C ${root} describe --tags --abbrev=0`.nothrow().quiet()).stdout.toString().trim();
  const range = tag ? [`${tag}..HEAD`] : ["HEAD"];
  const log = (
    await $`git -C ${root} log --no-merges --format=%s ${range}`.nothrow().quiet()
  ).stdout.toString();
  const changes = log
    .split("\n")
    .filter(Boolean)
    .map((l) => `- ${l}`);
  return [
    `# bunc ${pkg.version} (${commit || "unknown"})`,
    "",
    `Binaries: ${TARGETS.map((t) => `bunc-${t.name}`).join(", ")}. Check them with \`sha256sum -c SHA256SUMS\`.`,
    "",
    tag
      ? `## Changes since ${tag} (${changes.length})`
      : `## Changes: every commit, there being no tag yet (${changes.length})`,
    "",
    ...changes,
    "",
  ].join("\n");
}

await build(null);
const dir = mkdtempSync(`${tmpdir()}/bunc-build-`);
try {
  const order = await profile(dir);
  await build(order);
  console.log(`built ${outfile}`);
  if (release) await buildRelease(order);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
