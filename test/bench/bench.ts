// Benchmark of bunc against runc and crun: wall time of the lifecycle verbs,
// memory of the runtime and of its waiting init, binary sizes, and seccomp:
// create with Docker's profile, the cost of a syscall under it, and the
// filter's size next to libseccomp's.
//
//   ./node_modules/.bin/bun test/bench/bench.ts [--runs N] [--scale N] [--json FILE] [--baseline BUNC]
//
// --scale N (default 500): bunc's create, state, kill and list with N containers running.
//
// --baseline adds another bunc binary (an earlier build) to the same run, as
// "bunc-baseline", so that a change can be shown to make no verb slower.
//
// Needs root. Everything it makes (temp dir, containers, the cgroup parents
// /bunc-bench-<pid> in every hierarchy) is removed on exit, failure or SIGINT.
import { emptyHookSamples, printHooks, timeHooks } from "./hooks.ts";
import { emptyImageSamples, ImageBench, printImage } from "./image.ts";
import { emptyNetworkSamples, NetworkBench, printNetwork } from "./network.ts";
import { emptyRootlessSamples, printRootless, RootlessBench } from "./rootless.ts";
import { printScale, ScaleBench, type ScaleReport } from "./scale.ts";
import { emptyShellSamples, printShell, timeShell } from "./shell.ts";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Seccomp } from "../../src/oci/config.ts";
import { syscallNumber } from "../../src/seccomp/arch.ts";
import { makeRootfs } from "../fixtures/rootfs.ts";
import { CommandError, describe, must, type Result, sh, which } from "./command.ts";
import {
  buildProbe,
  compileMsOf,
  dockerProfile,
  printSeccompStatic,
  type SeccompStatic,
  seccompStatic,
} from "./seccomp.ts";
import { fmtMiB, fmtMs, fmtNs, type Stat, stat, table } from "./stats.ts";

const REPO = resolve(import.meta.dir, "../..");
const BUNC = join(REPO, "dist/bunc");
const CGROUP_FS = "/sys/fs/cgroup";
/** Parent of every container cgroup made here, so cleanup never touches anyone else's. */
const CG_PARENT = `bunc-bench-${process.pid}`;

// ---------------------------------------------------------------- options

const { values: opts } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    runs: { type: "string", default: "30" },
    scale: { type: "string", default: "500" },
    json: { type: "string" },
    baseline: { type: "string" },
  },
  strict: true,
});
const RUNS = Number(opts.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs wants a positive integer, got ${opts.runs}`);
if (RUNS < 30) console.warn(`note: --runs ${RUNS} is below 30; medians and p90 are rough`);

// ---------------------------------------------------------------- commands

// ---------------------------------------------------------------- runtimes

interface Runtime {
  name: string;
  path: string;
  /** State dir given as --root; one per runtime so they never see each other's containers. */
  root: string;
  /** argv put in front of the runtime binary (crun's mount-namespace wrapper). */
  wrapper: string[];
  skipped?: string;
  /** Why the seccomp figures are missing (an earlier bunc without seccomp). */
  noSeccomp?: string;
  /** For the report, taken before cleanup removes bunc's copy. */
  shownPath: string;
  version: string;
  binaryBytes: number;
}

/** bunc itself, or a baseline build of it. */
const isBunc = (rt: { name: string }) => rt.name.startsWith("bunc");

/** Full argv for `<runtime> --root ROOT ...args`. */
const argvOf = (rt: Runtime, args: string[]): string[] => [
  ...rt.wrapper,
  rt.path,
  "--root",
  rt.root,
  ...args,
];

/** Mount points of cgroup2 inside /sys/fs/cgroup besides the root: the "hybrid" layout. */
function hybridUnifiedMounts(): string[] {
  const out: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [pre, post] = line.split(" - ");
    const mountPoint = pre?.split(" ")[4];
    if (post?.startsWith("cgroup2 ") && mountPoint?.startsWith(`${CGROUP_FS}/`)) out.push(mountPoint);
  }
  return out;
}

function makeRuntimes(tmp: string): Runtime[] {
  if (!existsSync(BUNC))
    throw new Error(`${BUNC} is missing: build it with ./node_modules/.bin/bun build.ts`);
  // A private copy, so a rebuild of dist/bunc during the run cannot mix two
  // builds (one build's state.json read by another).
  const bunc = join(tmp, "bunc");
  copyFileSync(BUNC, bunc);
  chmodSync(bunc, 0o755);
  const found: [string, string | null][] = [
    ["bunc", bunc],
    ...(opts.baseline ? [["bunc-baseline", resolve(opts.baseline)] as [string, string]] : []),
    ["runc", which("runc")],
    ["crun", which("crun")],
  ];
  const rts: Runtime[] = [];
  for (const [name, path] of found) {
    if (!path) continue;
    const root = join(tmp, `root-${name}`);
    mkdirSync(root, { mode: 0o700 });
    let wrapper: string[] = [];
    const unified = hybridUnifiedMounts();
    if (name === "crun" && unified.length > 0) {
      // crun 1.8 refuses the hybrid layout; hide cgroup2 from it in a private
      // mount namespace so that it sees only the v1 hierarchies.
      const script = `${unified.map((m) => `umount ${m}`).join(" && ")} && exec "$0" "$@"`;
      wrapper = ["unshare", "-m", "sh", "-c", script];
    }
    rts.push({
      name,
      path,
      root,
      wrapper,
      shownPath: name === "bunc" ? `${BUNC} (run from a copy)` : realpathSync(path),
      version: sh([path, "--version"]).stdout.split("\n")[0] ?? "",
      binaryBytes: statSync(path).size,
    });
  }
  return rts;
}

// ---------------------------------------------------------------- bundles

let baseConfig: Record<string, unknown> | undefined;

/**
 * One bundle per container, all sharing the rootfs, so the cgroupsPath can
 * name the container without rewriting a config.json a runtime might re-read.
 */
function bundleFor(tmp: string, id: string, args: string[], seccomp?: Seccomp): string {
  if (!baseConfig) throw new Error("base config not made yet");
  const cfg = structuredClone(baseConfig) as {
    process: { terminal: boolean; args: string[] };
    root: { path: string };
    mounts: { destination: string; type: string; source: string; options: string[] }[];
    linux: { cgroupsPath: string; seccomp?: Seccomp };
  };
  cfg.process.terminal = false;
  cfg.process.args = args;
  cfg.root.path = join(tmp, "rootfs");
  cfg.linux.cgroupsPath = `/${CG_PARENT}/${id}`;
  cfg.mounts.push({
    destination: "/probe",
    type: "bind",
    source: join(tmp, "probe"),
    options: ["bind", "ro"],
  });
  if (seccomp) cfg.linux.seccomp = seccomp;
  const dir = join(tmp, "bundles", id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(cfg, null, 2));
  return dir;
}

async function makeBundleBase(tmp: string, bunc: Runtime): Promise<void> {
  await makeRootfs(join(tmp, "rootfs"));
  const specDir = join(tmp, "spec");
  mkdirSync(specDir);
  must([bunc.path, "spec", "--bundle", specDir]);
  const cfg = JSON.parse(readFileSync(join(specDir, "config.json"), "utf8")) as Record<string, unknown>;
  // crun 1.8 rejects any ociVersion without "1.0" in it ("unknown version
  // specified"); bunc and runc accept 1.0.2, so all three share one config.
  cfg.ociVersion = "1.0.2";
  baseConfig = cfg;
}

// ---------------------------------------------------------------- lifecycle helpers

interface State {
  pid: number;
  status: string;
}

function state(rt: Runtime, id: string): { r: Result; st: State } {
  const argv = argvOf(rt, ["state", id]);
  const r = must(argv);
  let st: State;
  try {
    st = JSON.parse(r.stdout) as State;
  } catch {
    throw new CommandError(`${argv.join(" ")} printed no JSON: ${r.stdout}`);
  }
  return { r, st };
}

function expectStatus(rt: Runtime, id: string, st: State, want: string, after: string): void {
  if (st.status !== want) {
    throw new CommandError(
      `${rt.name}: after ${after}, state of ${id} says "${st.status}", expected "${want}"`,
    );
  }
}

/** A memory line of /proc/PID/status (VmRSS, RssAnon), KiB. */
function statusKiB(pid: number, field: "VmRSS" | "RssAnon"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m?.[1]) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]);
}

/** Containers a runtime still knows under its --root (`list -q` plus the state dirs). */
function knownContainers(rt: Runtime): string[] {
  const ids = new Set<string>();
  const r = sh(argvOf(rt, ["list", "-q"]));
  if (r.code === 0) for (const id of r.stdout.split("\n")) if (id.trim()) ids.add(id.trim());
  // Dot names are not containers (bunc's .seccomp filter cache).
  if (existsSync(rt.root)) for (const id of readdirSync(rt.root)) if (!id.startsWith(".")) ids.add(id);
  return [...ids];
}

/** `run` deletes the container unless --keep; verify rather than trust, and tidy if not. */
function ensureGone(rt: Runtime, id: string): void {
  if (!knownContainers(rt).includes(id)) return;
  console.warn(`warning: ${rt.name} kept container ${id} after run; deleting it`);
  must(argvOf(rt, ["delete", "--force", id]));
}

// ---------------------------------------------------------------- interruption

let interrupted: string | undefined;
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    if (!interrupted) console.error(`\n${sig}: stopping after the current command, then cleaning up`);
    interrupted = sig;
  });
}

/** Lets a pending signal handler run (spawnSync blocks the event loop) and stops if one did. */
async function checkpoint(): Promise<void> {
  await Bun.sleep(0);
  if (interrupted) throw new CommandError(`interrupted by ${interrupted}`);
}

// ---------------------------------------------------------------- benchmark

const OPS = [
  "--version",
  "run",
  "create",
  "create+seccomp",
  "create+seccomp, no cache",
  "start",
  "state",
  "exec",
  "update",
  "pause",
  "resume",
  "ps",
  "list",
  "kill",
  "delete",
  "kill+delete",
  "20 runs, 2 at a time",
] as const;

/** The verbs engines call per container, compared with the runtime's own start-up (--version). */
const SHORT_VERBS = ["start", "state", "kill", "delete", "list", "ps", "pause", "resume"] as const;
type Op = (typeof OPS)[number];

interface Samples {
  ms: Record<Op, number[]>;
  /** Peak RSS of the runtime process tree during `run`, KiB. */
  runPeakRssKiB: number[];
  /** VmRSS of the container's init while it waits for `start`, KiB. */
  initRssKiB: number[];
  /** Its anonymous memory (RssAnon), KiB: what each waiting container costs alone. */
  initAnonKiB: number[];
  /** ns of one syscall inside the container, without a filter and under Docker's profile. */
  syscallNs: Record<TimedCall, { none: number[]; docker: number[] }>;
}

const emptySamples = (): Samples => ({
  ms: Object.fromEntries(OPS.map((op) => [op, []])) as unknown as Record<Op, number[]>,
  runPeakRssKiB: [],
  initRssKiB: [],
  initAnonKiB: [],
  syscallNs: {
    getppid: { none: [], docker: [] },
    personality: { none: [], docker: [] },
  },
});

/**
 * Any failure of bunc aborts (it is what we measure); runc/crun failing here
 * are only skipped, as is the seccomp part of a baseline bunc without it.
 */
function probe(rt: Runtime, tmp: string): void {
  for (const seccomp of [undefined, dockerProfile()]) {
    const id = `${rt.name}-probe${seccomp ? "-seccomp" : ""}`;
    const argv = argvOf(rt, ["run", "--bundle", bundleFor(tmp, id, ["/bin/true"], seccomp), id]);
    const r = sh(argv);
    if (r.code === 0) {
      ensureGone(rt, id);
      continue;
    }
    if (rt.name === "bunc") throw new CommandError(describe(argv, r));
    sh(argvOf(rt, ["delete", "--force", id]));
    const why = `\`run\` of /bin/true${seccomp ? " with Docker's seccomp profile" : ""} failed: ${r.stderr.trim() || `exit code ${r.code}`}`;
    if (seccomp) rt.noSeccomp = why;
    else if (isBunc(rt)) throw new CommandError(describe(argv, r));
    else rt.skipped = why;
    return;
  }
}

function timeRun(rt: Runtime, tmp: string, i: number, s: Samples): void {
  const id = `${rt.name}-run-${i}`;
  const r = must(argvOf(rt, ["run", "--bundle", bundleFor(tmp, id, ["/bin/true"]), id]));
  s.ms.run.push(r.ms);
  ensureGone(rt, id);
}

/** Wall time of 20 runs of /bin/true, two at a time (two workers of 10 each), as an engine starting a batch. */
async function timeParallelRuns(rt: Runtime, tmp: string, i: number, s: Samples): Promise<void> {
  const worker = async (w: number) => {
    for (let k = 0; k < 10; k++) {
      const id = `${rt.name}-par-${i}-${w}-${k}`;
      const p = Bun.spawn(argvOf(rt, ["run", "--bundle", bundleFor(tmp, id, ["/bin/true"]), id]), {
        stdin: "ignore",
        stdout: "ignore",
        stderr: "ignore",
      });
      if ((await p.exited) !== 0)
        throw new CommandError(`${rt.name}: run ${id} failed in the parallel batch`);
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all([worker(0), worker(1)]);
  s.ms["20 runs, 2 at a time"].push(Number(process.hrtime.bigint() - t0) / 1e6);
  for (let w = 0; w < 2; w++) for (let k = 0; k < 10; k++) ensureGone(rt, `${rt.name}-par-${i}-${w}-${k}`);
}

function timeLifecycle(rt: Runtime, tmp: string, i: number, s: Samples): void {
  const id = `${rt.name}-lc-${i}`;
  const bundle = bundleFor(tmp, id, ["/bin/sleep", "1000"]);

  s.ms["--version"].push(must(argvOf(rt, ["--version"])).ms);
  const created = must(argvOf(rt, ["create", "--bundle", bundle, id]));
  s.ms.create.push(created.ms);
  // Untimed look at the waiting init, for its RSS.
  const { st: c } = state(rt, id);
  expectStatus(rt, id, c, "created", "create");
  s.initRssKiB.push(statusKiB(c.pid, "VmRSS"));
  s.initAnonKiB.push(statusKiB(c.pid, "RssAnon"));

  s.ms.start.push(must(argvOf(rt, ["start", id])).ms);

  const { r: sr, st } = state(rt, id);
  s.ms.state.push(sr.ms);
  expectStatus(rt, id, st, "running", "start");

  if (!lacksVerb(rt, "exec")) s.ms.exec.push(must(argvOf(rt, ["exec", id, "/bin/true"])).ms);

  timeManagement(rt, id, s);

  s.ms.list.push(must(argvOf(rt, ["list"])).ms);
  // kill + (poll until stopped) + delete, timed as one figure, and each verb alone.
  const t0 = process.hrtime.bigint();
  const killed = must(argvOf(rt, ["kill", id, "KILL"]));
  s.ms.kill.push(killed.ms);
  for (let polls = 0; state(rt, id).st.status !== "stopped"; polls++) {
    if (polls > 2000) throw new CommandError(`${rt.name}: ${id} not stopped 2000 polls after kill KILL`);
    Bun.sleepSync(1);
  }
  s.ms.delete.push(must(argvOf(rt, ["delete", id])).ms);
  s.ms["kill+delete"].push(Number(process.hrtime.bigint() - t0) / 1e6);
}

/** A bunc baseline from before a verb existed has no figure for it. */
function lacksVerb(rt: Runtime, verb: string): boolean {
  return (
    rt.name !== "bunc" && isBunc(rt) && sh(argvOf(rt, [verb, "--help"])).stderr.includes("unknown command")
  );
}

/** The verbs engines use on a running container: update, pause, resume, ps. (crun 1.8 takes update sizes only in bytes.) */
function timeManagement(rt: Runtime, id: string, s: Samples): void {
  if (lacksVerb(rt, "update")) return;
  s.ms.update.push(must(argvOf(rt, ["update", "--memory", String(256 << 20), "--pids-limit", "100", id])).ms);
  s.ms.pause.push(must(argvOf(rt, ["pause", id])).ms);
  expectStatus(rt, id, state(rt, id).st, "paused", "pause");
  s.ms.resume.push(must(argvOf(rt, ["resume", id])).ms);
  expectStatus(rt, id, state(rt, id).st, "running", "resume");
  const ps = must(argvOf(rt, ["ps", "--format", "json", id]));
  if (!ps.stdout.trim().startsWith("["))
    throw new CommandError(`${rt.name}: ps --format json printed ${ps.stdout}`);
  s.ms.ps.push(ps.ms);
}

/**
 * create with Docker's profile (the config every engine writes). bunc keeps
 * compiled filters in <root>/.seccomp: timed once with the cache warm, once
 * with it removed; runc and crun compile on every create.
 */
function timeSeccompCreate(rt: Runtime, tmp: string, i: number, s: Samples): void {
  const passes: [Op, boolean][] = isBunc(rt)
    ? [
        ["create+seccomp", false],
        ["create+seccomp, no cache", true],
      ]
    : [["create+seccomp", false]];
  for (const [op, cold] of passes) {
    const id = `${rt.name}-sc-${cold ? "cold" : "warm"}-${i}`;
    const bundle = bundleFor(tmp, id, ["/bin/sleep", "1000"], dockerProfile());
    if (cold) rmSync(join(rt.root, ".seccomp"), { recursive: true, force: true });
    s.ms[op].push(must(argvOf(rt, ["create", "--bundle", bundle, id])).ms);
    must(argvOf(rt, ["delete", "--force", id]));
  }
}

/** bunc's own account of compiling Docker's profile inside create (its --debug trace), cache emptied. */
function timeCompile(rt: Runtime, tmp: string, i: number, compileMs: number[]): void {
  const id = `${rt.name}-compile-${i}`;
  const bundle = bundleFor(tmp, id, ["/bin/sleep", "1000"], dockerProfile());
  rmSync(join(rt.root, ".seccomp"), { recursive: true, force: true });
  const r = must([rt.path, "--root", rt.root, "--debug", "create", "--bundle", bundle, id]);
  compileMs.push(compileMsOf(r.stderr));
  must(argvOf(rt, ["delete", "--force", id]));
}

const SYSCALL_LOOPS = 500_000;

/**
 * Syscalls timed inside a container. The kernel skips the filter for calls
 * it has seen it allow whatever their arguments (getppid); a call whose
 * verdict depends on an argument runs it every time (personality, which
 * Docker's profile allows only for a few personas; 0xffffffff queries).
 */
const TIMED_CALLS = {
  getppid: [],
  personality: [String(syscallNumber("SCMP_ARCH_X86_64", "personality")), "0xffffffff"],
} as const;
type TimedCall = keyof typeof TIMED_CALLS;

/** One syscall's cost in ns inside a container, under Docker's profile or no filter. */
function timeSyscalls(rt: Runtime, tmp: string, i: number, s: Samples): void {
  for (const [call, kind] of Object.keys(TIMED_CALLS).flatMap((c) =>
    (["none", "docker"] as const).map((k) => [c as TimedCall, k] as const),
  )) {
    const id = `${rt.name}-${call}-${kind}-${i}`;
    const seccomp = kind === "docker" ? dockerProfile() : undefined;
    const args = ["/probe", "--loop", String(SYSCALL_LOOPS), ...TIMED_CALLS[call]];
    const bundle = bundleFor(tmp, id, args, seccomp);
    const out = must(argvOf(rt, ["run", "--bundle", bundle, id])).stdout.trim();
    const ns = Number(out);
    if (!(ns > 0))
      throw new CommandError(`${rt.name}: /probe --loop printed ${JSON.stringify(out)}, not a time`);
    s.syscallNs[call][kind].push(ns);
    ensureGone(rt, id);
  }
}

/** Peak RSS of one `run`, from /usr/bin/time when present, else from the child's rusage. */
function measureRunRss(rt: Runtime, tmp: string, i: number, s: Samples, timeBin: string | null): void {
  const id = `${rt.name}-rss-${i}`;
  const argv = argvOf(rt, ["run", "--bundle", bundleFor(tmp, id, ["/bin/true"]), id]);
  if (timeBin) {
    const out = join(tmp, "time.out");
    must([timeBin, "-f", "%M", "-o", out, ...argv]);
    s.runPeakRssKiB.push(Number(readFileSync(out, "utf8").trim().split("\n").pop()));
  } else {
    s.runPeakRssKiB.push(must(argv).maxRssBytes / 1024);
  }
  ensureGone(rt, id);
}

/** Rotates who goes first each round so no runtime always follows the same neighbour. */
function roundRobin(rts: Runtime[], i: number): Runtime[] {
  const k = i % rts.length;
  return [...rts.slice(k), ...rts.slice(0, k)];
}

// ---------------------------------------------------------------- cleanup

const warnings: string[] = [];

function cleanup(tmp: string, rts: Runtime[]): void {
  for (const rt of rts) {
    if (!existsSync(rt.root)) continue;
    for (const id of knownContainers(rt)) {
      const r = sh(argvOf(rt, ["delete", "--force", id]));
      if (r.code !== 0) warnings.push(`cleanup: ${rt.name} delete --force ${id}: ${r.stderr.trim()}`);
    }
  }
  // Each stage runs even if an earlier one threw.
  for (const stage of [killStragglers, removeCgroupParents, () => removeTmp(tmp)]) {
    try {
      stage();
    } catch (e) {
      warnings.push(`cleanup: ${(e as Error).message}`);
    }
  }
}

/** Our cgroup parent in every hierarchy that has one. */
function cgroupParents(): string[] {
  return readdirSync(CGROUP_FS)
    .map((h) => join(CGROUP_FS, h, CG_PARENT))
    .filter((p) => existsSync(p));
}

/**
 * Belt and braces after `delete --force`: whatever still lives under our
 * cgroup parent was started here (a runtime may fail to delete, e.g. on a
 * state it cannot read), so kill it. Zombies do not count: killed inits are
 * reparented to pid 1, which may reap them late.
 */
function killStragglers(): void {
  const walk = (dir: string): void => {
    for (const line of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) {
      const pid = Number(line);
      if (!pid) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        if (/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2))) continue;
        process.kill(pid, "SIGKILL");
        warnings.push(
          `cleanup: pid ${pid} (${stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))}) outlived delete --force in ${dir}; killed it`,
        );
      } catch {
        // gone already
      }
    }
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
  };
  for (const parent of cgroupParents()) walk(parent);
}

/** rmdir /sys/fs/cgroup/<hierarchy>/bunc-bench-<pid> and what runtimes left under it, deepest first. */
function removeCgroupParents(): void {
  const rmTree = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmTree(join(dir, e.name));
    // Emptying a cgroup after SIGKILL is asynchronous: retry EBUSY briefly.
    for (let tries = 0; ; tries++) {
      try {
        rmdirSync(dir);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EBUSY" || tries >= 50) {
          warnings.push(`cleanup: rmdir ${dir}: ${(e as Error).message}`);
          return;
        }
        Bun.sleepSync(20);
      }
    }
  };
  for (const parent of cgroupParents()) rmTree(parent);
}

/** rm -rf the temp dir, unless something is still mounted inside it (rm would walk into it). */
function removeTmp(tmp: string): void {
  const mounted = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => !!m && (m === tmp || m.startsWith(`${tmp}/`)));
  if (mounted.length > 0) {
    warnings.push(`cleanup: left ${tmp} in place, still mounted inside it: ${mounted.join(", ")}`);
    return;
  }
  rmSync(tmp, { recursive: true, force: true });
}

// ---------------------------------------------------------------- report

interface Report {
  date: string;
  host: { kernel: string; bun: string };
  runs: number;
  runtimes: {
    name: string;
    path: string;
    version: string;
    wrapper?: string;
    skipped?: string;
    binaryBytes: number;
    ms: Partial<Record<Op, Stat | null>>;
    runPeakRssKiB: Stat | null;
    initRssKiB: Stat | null;
    initAnonKiB: Stat | null;
    noSeccomp?: string;
    syscallNs: Record<TimedCall, { none: Stat | null; docker: Stat | null }>;
  }[];
  seccomp: SeccompStatic & { compileInCreateMs: Stat | null };
  crunWrapperMs?: Stat | null;
  warnings: string[];
}

function report(
  rts: Runtime[],
  samples: Map<string, Samples>,
  wrapperMs: number[],
  seccomp: SeccompStatic & { compileInCreateMs: Stat | null },
): Report {
  return {
    date: new Date().toISOString(),
    host: { kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(), bun: Bun.version },
    runs: RUNS,
    runtimes: rts.map((rt) => {
      const s = samples.get(rt.name) ?? emptySamples();
      const ms: Partial<Record<Op, Stat | null>> = {};
      for (const op of OPS) ms[op] = stat(s.ms[op]);
      return {
        name: rt.name,
        path: rt.shownPath,
        version: rt.version,
        ...(rt.wrapper.length
          ? { wrapper: rt.wrapper.map((a) => (a.includes(" ") ? `'${a}'` : a)).join(" ") }
          : {}),
        ...(rt.skipped ? { skipped: rt.skipped } : {}),
        binaryBytes: rt.binaryBytes,
        ms,
        runPeakRssKiB: stat(s.runPeakRssKiB),
        initRssKiB: stat(s.initRssKiB),
        initAnonKiB: stat(s.initAnonKiB),
        ...(rt.noSeccomp ? { noSeccomp: rt.noSeccomp } : {}),
        syscallNs: Object.fromEntries(
          Object.entries(s.syscallNs).map(([c, k]) => [c, { none: stat(k.none), docker: stat(k.docker) }]),
        ) as Record<TimedCall, { none: Stat | null; docker: Stat | null }>,
      };
    }),
    seccomp,
    ...(wrapperMs.length ? { crunWrapperMs: stat(wrapperMs) } : {}),
    warnings,
  };
}

/**
 * bunc's medians beside its start-up floor (its own --version) and as
 * ratios to runc's and crun's: the figures the performance targets name.
 */
function printSummary(live: Report["runtimes"]): void {
  const bunc = live.find((r) => r.name === "bunc");
  if (!bunc) return;
  const others = live.filter((r) => r.name === "runc" || r.name === "crun");
  const med = (r: Report["runtimes"][number], op: Op) => r.ms[op]?.median;
  const floor = med(bunc, "--version");
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? "n/a" : `${(a / b).toFixed(2)}x`;
  const rows = [
    ["summary (medians, ms)", "bunc", "over its --version", ...others.map((r) => `bunc/${r.name}`)],
  ];
  for (const op of ["--version", "run", "20 runs, 2 at a time", "create", "exec", ...SHORT_VERBS] as Op[]) {
    const b = med(bunc, op);
    const single = op !== "--version" && op !== "20 runs, 2 at a time";
    const over = b !== undefined && floor !== undefined && single ? (b - floor).toFixed(2) : "";
    rows.push([op, fmtMs(b), over, ...others.map((r) => ratio(b, med(r, op)))]);
  }
  console.log(`\n${table(rows)}`);
}

function print(rep: Report): void {
  const live = rep.runtimes.filter((r) => !r.skipped);
  const head = ["", ...live.flatMap((r) => [`${r.name} median`, "p90"])];
  const rows = [head];
  for (const op of OPS) {
    rows.push([
      op,
      ...live.flatMap((r) => {
        const st = r.ms[op];
        if (!st) return ["n/a", ""];
        return [fmtMs(st.median), fmtMs(st.p90)];
      }),
    ]);
  }
  console.log(`\nwall time in ms, ${rep.runs} interleaved runs per runtime (kernel ${rep.host.kernel})\n`);
  console.log(table(rows));
  printSummary(live);
  console.log(
    "\nexec: of /bin/true in the running container (n/a for a baseline bunc without the verb).\n" +
      "create+seccomp: with Docker's default profile; bunc's filter cache warm, or removed before each create\n" +
      "(runc and crun have no cache: libseccomp compiles on every create).",
  );
  printSeccompStatic(rep.seccomp, rep.seccomp.compileInCreateMs);
  const calls = [
    ["one syscall in a container (median)", ...live.map((r) => r.name)],
    ...(Object.keys(TIMED_CALLS) as TimedCall[]).flatMap((c) => [
      [`${c}, no filter`, ...live.map((r) => fmtNs(r.syscallNs[c].none))],
      [`${c}, Docker's profile`, ...live.map((r) => fmtNs(r.syscallNs[c].docker))],
    ]),
  ];
  console.log(`\n${table(calls)}`);

  const mem = [
    ["", ...live.map((r) => r.name)],
    ["peak RSS of `run` (median)", ...live.map((r) => fmtMiB(r.runPeakRssKiB?.median))],
    ["init RSS while created (median)", ...live.map((r) => fmtMiB(r.initRssKiB?.median))],
    ["init anonymous memory while created", ...live.map((r) => fmtMiB(r.initAnonKiB?.median))],
    ["binary size", ...live.map((r) => `${(r.binaryBytes / 2 ** 20).toFixed(1)} MiB`)],
  ];
  console.log(`\n${table(mem)}`);
  console.log(
    "\npeak RSS: ru_maxrss of the runtime command, i.e. the largest process of its tree that it reaped\n" +
      "(runtime, its init, the container process); init RSS: VmRSS of state.pid between create and start,\n" +
      "its anonymous memory: RssAnon (the rest is file pages, shared between containers).",
  );
  for (const r of rep.runtimes) {
    console.log(`\n${r.name}: ${r.path} (${r.version})`);
    if (r.skipped)
      console.log(`  SKIPPED: ${r.skipped}\n  binary size ${(r.binaryBytes / 2 ** 20).toFixed(1)} MiB`);
    if (r.wrapper) console.log(`  run as: ${r.wrapper} ${r.path} ...`);
    if (r.noSeccomp) console.log(`  no seccomp figures: ${r.noSeccomp}`);
    if (r.wrapper && rep.crunWrapperMs) {
      const w = rep.crunWrapperMs;
      console.log(
        `  its figures include the wrapper, which alone (exec /bin/true) takes median ${fmtMs(w.median)} ms, p90 ${fmtMs(w.p90)} ms`,
      );
    }
  }
  for (const w of rep.warnings) console.log(`warning: ${w}`);
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) throw new Error("run as root: the runtimes need it");
  const tmp = mkdtempSync(join(tmpdir(), "bunc-bench-"));
  let rts: Runtime[] = [];
  const samples = new Map<string, Samples>();
  const wrapperMs: number[] = [];
  const compileMs: number[] = [];
  const hookSamples = emptyHookSamples();
  const networkSamples = emptyNetworkSamples();
  const imageSamples = emptyImageSamples();
  const shellSamples = emptyShellSamples();
  const rootlessSamples = emptyRootlessSamples();
  let scale: ScaleReport | null = null;
  let layerBytes = 0;
  let failed = false;
  try {
    rts = makeRuntimes(tmp);
    console.log(
      `temp dir ${tmp}; cgroup parent /${CG_PARENT}; runtimes: ${rts.map((r) => r.name).join(", ")}`,
    );
    await makeBundleBase(tmp, rts[0]!);
    buildProbe(tmp);
    for (const rt of rts) probe(rt, tmp);
    for (const rt of rts) if (rt.skipped) console.warn(`skipping ${rt.name}: ${rt.skipped}`);
    const live = rts.filter((r) => !r.skipped);
    for (const rt of live) samples.set(rt.name, emptySamples());
    const crun = live.find((r) => r.wrapper.length > 0);

    console.log(`run /bin/true x${RUNS}`);
    for (let i = 0; i < RUNS; i++) {
      for (const rt of roundRobin(live, i)) {
        timeRun(rt, tmp, i, samples.get(rt.name)!);
        await checkpoint();
      }
      // What the crun figures pay for the mount-namespace wrapper alone.
      if (crun) wrapperMs.push(must([...crun.wrapper, "/bin/true"]).ms);
    }
    const batches = Math.min(RUNS, 5);
    console.log(`20 runs of /bin/true two at a time x${batches}`);
    for (let i = 0; i < batches; i++) {
      for (const rt of roundRobin(live, i)) {
        await timeParallelRuns(rt, tmp, i, samples.get(rt.name)!);
        await checkpoint();
      }
    }
    console.log(`create/start/state/exec/update/pause/resume/ps/kill+delete of /bin/sleep 1000 x${RUNS}`);
    for (let i = 0; i < RUNS; i++) {
      for (const rt of roundRobin(live, i)) {
        timeLifecycle(rt, tmp, i, samples.get(rt.name)!);
        await checkpoint();
      }
    }
    const withSeccomp = live.filter((r) => !r.noSeccomp);
    console.log(`create with Docker's seccomp profile x${RUNS}`);
    for (let i = 0; i < RUNS; i++) {
      for (const rt of roundRobin(withSeccomp, i)) {
        timeSeccompCreate(rt, tmp, i, samples.get(rt.name)!);
        await checkpoint();
      }
    }
    const bunc = live.find((r) => r.name === "bunc");
    if (bunc) for (let i = 0; i < RUNS; i++) timeCompile(bunc, tmp, i, compileMs);
    if (bunc) {
      console.log(`bunc run with one createRuntime hook, program and in-process, x${RUNS}`);
      for (let i = 0; i < RUNS; i++) {
        timeHooks(bunc, (id) => bundleFor(tmp, id, ["/bin/true"]), i, hookSamples);
        await checkpoint();
      }
    }
    if (bunc) {
      console.log(
        `bunc run with the network plugin x${RUNS}; its port forwarder against a direct connection`,
      );
      const net = new NetworkBench(tmp, bunc);
      try {
        for (let i = 0; i < RUNS; i++) {
          net.timeRuns((id, args) => bundleFor(tmp, id, args), i, networkSamples);
          await checkpoint();
        }
        net.timeForwarder((id, args) => bundleFor(tmp, id, args), 200, networkSamples);
      } finally {
        net.close();
      }
    }
    if (bunc) {
      console.log(`bunc run from an image, cold and warm, x${RUNS}`);
      const img = new ImageBench(tmp, bunc);
      layerBytes = img.layerBytes;
      for (let i = 0; i < RUNS; i++) {
        img.time((id, args) => bundleFor(tmp, id, args), i, imageSamples);
        await checkpoint();
      }
    }
    if (bunc) {
      console.log(`bunc run --rootfs against bwrap and unshare x${RUNS}`);
      for (let i = 0; i < RUNS; i++) {
        timeShell(bunc, tmp, `/${CG_PARENT}`, shellSamples);
        await checkpoint();
      }
    }
    if (bunc) {
      console.log(`rootless run of bunc, bwrap and crun as a throwaway user x${RUNS}`);
      const rl = new RootlessBench(tmp, bunc.path);
      try {
        for (let i = 0; i < RUNS; i++) {
          rl.timeRuns(i, rootlessSamples);
          await checkpoint();
        }
      } finally {
        rl.close();
      }
    }
    if (bunc && Number(opts.scale) > 1) {
      console.log(`bunc's create, state, kill and list with 1 and ${opts.scale} containers running`);
      const sc = new ScaleBench(bunc, (id, args) => bundleFor(tmp, id, args));
      try {
        scale = sc.measure(Number(opts.scale), Math.min(RUNS, 10));
      } finally {
        sc.close();
      }
    }
    const callRuns = Math.min(RUNS, 10);
    console.log(`syscalls x${SYSCALL_LOOPS} in a container, with and without a filter, x${callRuns}`);
    for (let i = 0; i < callRuns; i++) {
      for (const rt of roundRobin(withSeccomp, i)) {
        timeSyscalls(rt, tmp, i, samples.get(rt.name)!);
        await checkpoint();
      }
    }
    const timeBin = existsSync("/usr/bin/time") ? "/usr/bin/time" : null;
    const rssRuns = Math.min(RUNS, 10);
    console.log(`peak RSS of run x${rssRuns} (${timeBin ? "/usr/bin/time -f %M" : "rusage maxRSS"})`);
    for (let i = 0; i < rssRuns; i++) {
      for (const rt of roundRobin(live, i)) {
        measureRunRss(rt, tmp, i, samples.get(rt.name)!, timeBin);
        await checkpoint();
      }
    }
  } catch (e) {
    failed = true;
    console.error(`\nbenchmark aborted: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    cleanup(tmp, rts);
  }
  if (failed) {
    for (const w of warnings) console.error(`warning: ${w}`);
    return interrupted ? 130 : 1;
  }
  const hooks = printHooks(hookSamples);
  const network = printNetwork(networkSamples);
  const image = printImage(imageSamples, layerBytes);
  const shell = printShell(shellSamples);
  const rootless = printRootless(rootlessSamples);
  const rep = {
    ...report(rts, samples, wrapperMs, { ...seccompStatic(), compileInCreateMs: stat(compileMs) }),
    hooks: hooks.stats,
    network: network.stats,
    image: image.stats,
    shell: shell.stats,
    rootless: rootless.stats,
    scale,
  };
  print(rep);
  console.log(`\n${hooks.text}`);
  console.log(`\n${network.text}`);
  console.log(`\n${image.text}`);
  console.log(`\n${shell.text}`);
  console.log(`\n${rootless.text}`);
  if (scale) console.log(`\n${printScale(scale)}`);
  if (opts.json) {
    writeFileSync(opts.json, `${JSON.stringify(rep, null, 2)}\n`);
    console.log(`\nJSON written to ${opts.json}`);
  }
  return 0;
}

process.exit(await main());
