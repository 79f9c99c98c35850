// The release's proof, target by target (npm test runs it after the suite,
// which tested the host's binary): what each binary and its C object ask
// of the system (readelf), that the C object built into each binary is the
// one built for it, and running each as far as this x86-64 host can:
// natively, under qemu-user for arm64, and in a root holding musl and no
// glibc for the musl C objects. Every run has a timeout. Needs root (chroot,
// cgroups). One line per check; exit status 1 when any fails.
//
//   ./node_modules/.bin/bun test/release/check.ts
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import { makeRootfs } from "../fixtures/rootfs.ts";
import { buildBinary, buildMuslProgram } from "./compile.ts";
import { hostTarget, MUSL, TARGETS, type Target } from "./targets.ts";

const root = resolve(import.meta.dir, "../..");
const release = `${root}/dist/release`;
const TIMEOUT_MS = 120_000;
const QEMU = "/usr/bin/qemu-aarch64-static";
const GLIBC_ARM64 = "/usr/aarch64-linux-gnu";
const MACHINE = { x64: "Advanced Micro Devices X86-64", arm64: "AArch64" } as const;

let failed = 0;
const tmp = mkdtempSync(`${tmpdir()}/bunc-release-check-`);

function check(name: string, fn: () => string | undefined): void {
  try {
    const detail = fn();
    console.log(`ok    ${name}${detail ? `: ${detail}` : ""}`);
  } catch (e) {
    failed++;
    console.log(`FAIL  ${name}: ${(e as Error).message}`);
  }
}

function must(cond: boolean, message: string): void {
  if (!cond) throw new Error(message);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string[]): Run {
  const r = Bun.spawnSync({ cmd, stdout: "pipe", stderr: "pipe", timeout: TIMEOUT_MS });
  const out = { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  if (r.signalCode)
    throw new Error(`${cmd.join(" ")}: ended by ${r.signalCode} (timeout ${TIMEOUT_MS / 1000} s)`);
  return out;
}

function ok(cmd: string[]): string {
  const r = run(cmd);
  must(r.code === 0, `${cmd.join(" ")}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

const readelf = (flag: string, file: string) => ok(["readelf", flag, file]);
const needed = (file: string) =>
  [...readelf("-d", file).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1] ?? "");
const machine = (file: string) => /Machine:\s+(.*)/.exec(readelf("-h", file))?.[1]?.trim();

/** What the binary may ask for: the C library (and for glibc its split parts); for musl Bun's C++ runtime. */
function allowedLibraries(t: Target): Set<string> {
  if (t.musl) return new Set(["libstdc++.so.6", "libgcc_s.so.1", MUSL[t.arch].soname]);
  const loader = t.arch === "x64" ? "ld-linux-x86-64.so.2" : "ld-linux-aarch64.so.1";
  return new Set(["libc.so.6", "libpthread.so.0", "libdl.so.2", "libm.so.6", loader]);
}

function staticChecks(t: Target): void {
  const binary = `${release}/bunc-${t.name}`;
  const object = `${root}/build/${t.name}/libbunc.so`;
  const waiter = `${root}/build/${t.name}/bunc-wait.elf`;
  check(`${t.name}: binary is for ${t.arch} with ${t.musl ? "musl" : "glibc"}'s loader`, () => {
    must(machine(binary) === MACHINE[t.arch], `machine ${machine(binary)}`);
    const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(readelf("-l", binary))?.[1];
    const want = t.musl
      ? MUSL[t.arch].loader
      : t.arch === "x64"
        ? "/lib64/ld-linux-x86-64.so.2"
        : "/lib/ld-linux-aarch64.so.1";
    must(interp === want, `interpreter ${interp}, not ${want}`);
    return interp;
  });
  check(
    `${t.name}: binary needs nothing beyond its C library${t.musl ? " and libstdc++/libgcc_s" : ""}`,
    () => {
      const libs = needed(binary);
      const extra = libs.filter((l) => !allowedLibraries(t).has(l));
      must(extra.length === 0, `also needs ${extra.join(", ")}`);
      return libs.join(" ");
    },
  );
  check(`${t.name}: C object is for ${t.arch} and needs only ${t.musl ? "musl" : "glibc"}`, () => {
    must(machine(object) === MACHINE[t.arch], `machine ${machine(object)}`);
    const libs = needed(object);
    const want = t.musl ? MUSL[t.arch].soname : "libc.so.6";
    must(libs.length === 1 && libs[0] === want, `needs ${libs.join(", ")}, not just ${want}`);
    return libs.join(" ");
  });
  check(`${t.name}: waiter is static, for ${t.arch}`, () => {
    must(machine(waiter) === MACHINE[t.arch], `machine ${machine(waiter)}`);
    must(!readelf("-l", waiter).includes("interpreter") && needed(waiter).length === 0, "it is not static");
    return `${readFileSync(waiter).length} bytes`;
  });
  check(`${t.name}: binary carries that C object and that waiter`, () => {
    const bytes = readFileSync(binary);
    for (const f of [object, waiter]) must(bytes.indexOf(readFileSync(f)) >= 0, `${f} is not in ${binary}`);
    return undefined;
  });
}

/** How to run a target's binary on this host, or null where it cannot start here (musl: no musl libstdc++). */
function launcher(t: Target): string[] | null {
  if (t.musl) return null;
  if (t.arch === process.arch) return [];
  return [QEMU, "-L", GLIBC_ARM64];
}

/** The waiter is static: it starts on its machine whatever the C library (arm64's under qemu-user). */
function waiterStarts(t: Target): void {
  const waiter = `${root}/build/${t.name}/bunc-wait.elf`;
  check(`${t.name}: waiter starts (${t.arch === process.arch ? "natively" : "under qemu-user"})`, () => {
    const r = run([...(t.arch === process.arch ? [] : [QEMU]), waiter]);
    const usage = "bunc init: usage: bunc-wait BLOB_FD STATE_DIR_FD\n";
    must(r.code === 127 && r.stderr === usage, `exit ${r.code}: ${r.stderr.trim()}`);
    return undefined;
  });
}

function runChecks(t: Target, prefix: string[]): void {
  const binary = `${release}/bunc-${t.name}`;
  const bunc = (...args: string[]) => [...prefix, binary, ...args];
  const how = prefix.length ? "under qemu-user" : "natively";
  check(`${t.name}: --version names the target (${how})`, () => {
    const out = ok(bunc("--version"));
    must(out.includes(`\ntarget: ${t.name}\n`), `printed ${JSON.stringify(out)}`);
    return out.split("\n").join(" ").trim();
  });
  check(`${t.name}: spec writes a config (${how})`, () => {
    const dir = `${tmp}/spec-${t.name}`;
    mkdirSync(dir);
    ok(bunc("spec", "--bundle", dir));
    const config = JSON.parse(readFileSync(`${dir}/config.json`, "utf8"));
    must(
      config.ociVersion === "1.3.0" && Array.isArray(config.process?.args),
      "config.json lacks ociVersion or process.args",
    );
    return undefined;
  });
  check(`${t.name}: features names the target (${how})`, () => {
    const annotations = JSON.parse(ok(bunc("features"))).annotations;
    must(annotations?.["bunc.target"] === t.name, `bunc.target is ${annotations?.["bunc.target"]}`);
    return undefined;
  });
  check(`${t.name}: a container runs (${how})`, () => containerRun(t, bunc));
}

/** A bundle on the shared rootfs whose process prints from inside; its cgroup below `cgroup`. */
function bundleFor(id: string, cgroup: string): string {
  const bundle = `${tmp}/bundle-${id}`;
  mkdirSync(bundle);
  ok([`${root}/dist/bunc`, "spec", "--bundle", bundle]);
  const config = JSON.parse(readFileSync(`${bundle}/config.json`, "utf8"));
  config.root.path = `${tmp}/rootfs`;
  config.process.terminal = false;
  config.process.args = ["/bin/sh", "-c", "echo inside $(cat /proc/self/cgroup | wc -l)"];
  config.linux.cgroupsPath = `${cgroup}/${id}`;
  writeFileSync(`${bundle}/config.json`, JSON.stringify(config));
  return bundle;
}

/**
 * `run` of a bundle, with a state root and cgroup parent of its own, checked
 * to leave nothing behind whatever it answered.
 */
function runContainer(id: string, bunc: (...args: string[]) => string[]): Run {
  const cgroup = `/bunc-release-check-${process.pid}`;
  const state = `${tmp}/state-${id}`;
  const bundle = bundleFor(id, cgroup);
  try {
    return run(bunc("--root", state, "run", "--bundle", bundle, id));
  } finally {
    const left = leftovers(state, cgroup);
    removeCgroups(cgroup);
    must(left.length === 0, `left behind: ${left.join(", ")}`);
  }
}

/**
 * A container that prints from inside. Under qemu 7.2 (Debian 12) openat2
 * is not implemented: the run must then stop with that error, at its first
 * fd-safe open, having left nothing behind.
 */
function containerRun(t: Target, bunc: (...args: string[]) => string[]): string {
  const r = runContainer(`release-${t.name}`, bunc);
  if (r.code === 0) {
    must(r.stdout.startsWith("inside "), `printed ${JSON.stringify(r.stdout)}`);
    return r.stdout.trim();
  }
  must(r.stderr.includes(": Function not implemented"), `exit ${r.code}: ${r.stderr.trim()}`);
  return `stops where qemu-user lacks openat2: ${r.stderr.trim()}`;
}

function cgroupDirs(cgroup: string): string[] {
  return readdirSync("/sys/fs/cgroup")
    .map((h) => `/sys/fs/cgroup/${h}${cgroup}`)
    .filter((d) => existsSync(d));
}

function leftovers(state: string, cgroup: string): string[] {
  const dirs = cgroupDirs(cgroup).flatMap((d) =>
    readdirSync(d, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => `${d}/${e.name}`),
  );
  const states = existsSync(state) ? readdirSync(state).map((e) => `${state}/${e}`) : [];
  return [...dirs, ...states];
}

/** The check's own cgroup parents, deepest first (bunc made them; it removes only its container's). */
function removeCgroups(cgroup: string): void {
  for (const d of cgroupDirs(cgroup)) {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) rmdirSync(`${d}/${e.name}`);
    rmdirSync(d);
  }
}

/**
 * A binary for one target carrying another's C object must refuse to load
 * it, with the sentence of src/sys/target.ts, and leave nothing behind.
 */
async function mismatchCheck(t: Target, other: Target, prefix: string[]): Promise<void> {
  const outfile = `${tmp}/bunc-${t.name}-with-${other.name}-object`;
  const object = {
    lib: `${root}/build/${other.name}/libbunc.so`,
    waiter: `${root}/build/${t.name}/bunc-wait.elf`,
  };
  await buildBinary({ outfile, target: t, object, order: null });
  check(`${t.name}: a binary carrying the ${other.name} C object refuses it`, () => {
    const r = runContainer("release-mismatch", (...args) => [...prefix, outfile, ...args]);
    const want = `the C object built into bunc is for ${other.name} but this process runs on ${t.name}`;
    must(r.code === 1 && r.stderr.includes(want), `exit ${r.code}: ${r.stderr.trim()}`);
    return r.stderr.trim();
  });
}

/**
 * Each musl C object, loaded by a small musl program (test/release/dlopen.c)
 * in a root that holds musl's loader and nothing of glibc; arm64's through
 * qemu-user copied into that root.
 */
async function muslObjectCheck(t: Target): Promise<void> {
  const musl = t.musl;
  if (!musl) return;
  const dir = `${tmp}/musl-root-${t.name}`;
  mkdirSync(`${dir}/lib`, { recursive: true });
  copyFileSync(musl.libc, `${dir}${musl.loader}`);
  copyFileSync(`${root}/build/${t.name}/libbunc.so`, `${dir}/libbunc.so`);
  await buildMuslProgram(t, [`${root}/test/release/dlopen.c`], `${dir}/dlopen`, false);
  if (t.arch !== process.arch) copyFileSync(QEMU, `${dir}/qemu`);
  check(`${t.name}: C object loads and runs in a root with musl and no glibc`, () => {
    must(!existsSync(`${dir}/lib/libc.so.6`), "the root holds glibc");
    const out = ok(["chroot", dir, ...(t.arch === process.arch ? [] : ["/qemu"]), "/dlopen", "/libbunc.so"]);
    must(out.startsWith("No such file or directory; open files limit "), `printed ${JSON.stringify(out)}`);
    return out.trim();
  });
}

try {
  must(process.getuid?.() === 0, "the release check needs root (chroot, cgroups)");
  const host = hostTarget();
  check("linux-x64: the binary the suite tested is the release's", () => {
    must(
      readFileSync(`${root}/dist/bunc`).equals(readFileSync(`${release}/bunc-${host.name}`)),
      `dist/bunc differs from dist/release/bunc-${host.name}`,
    );
    return undefined;
  });
  check(
    "SHA256SUMS: every binary, matching",
    () =>
      `${
        ok(["sh", "-c", `cd ${release} && sha256sum -c SHA256SUMS`])
          .trim()
          .split("\n").length
      } sums`,
  );
  await makeRootfs(`${tmp}/rootfs`);
  for (const t of TARGETS) {
    staticChecks(t);
    waiterStarts(t);
    const prefix = launcher(t);
    if (prefix) runChecks(t, prefix);
    else
      console.log(`skip  ${t.name}: running the binary needs a musl libstdc++, which Debian does not have`);
    await muslObjectCheck(t);
  }
  const arm64 = TARGETS.find((t) => t.name === "linux-arm64");
  if (arm64) await mismatchCheck(arm64, host, launcher(arm64) ?? []);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(failed ? `${failed} release check(s) failed` : "every release check passed");
process.exit(failed ? 1 : 0);
