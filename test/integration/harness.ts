// Real containers for the integration tests: the built dist/bunc, a state
// root and cgroup parent owned by this test process, and a cleanup that
// removes everything they made, even when a test failed.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { afterAll, beforeAll, expect } from "bun:test";
import { join, resolve } from "node:path";
import { defaultSpec } from "../../src/oci/default.ts";
import type { Config } from "../../src/oci/config.ts";
import { stringifyExact } from "../../src/oci/exactJson.ts";
import { makeRootfs } from "../fixtures/rootfs.ts";

export const BUNC = resolve(import.meta.dir, "../../dist/bunc");

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const CGROUP_MOUNTS = "/sys/fs/cgroup";

/** Removes a cgroup directory and the ones below it. */
function rmTree(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmTree(join(dir, e.name));
  rmdirSync(dir);
}

/** Directories of the state root that are bunc's own stores, not containers. */
const OWN_STORES = [".seccomp", ".network", ".images"];

export class TestEnv {
  readonly dir = mkdtempSync("/tmp/bunc-test-");
  readonly root = join(this.dir, "state");
  readonly rootfs = join(this.dir, "rootfs");
  /** Every container's cgroup goes below this parent, which the test owns. */
  readonly cgroupParent = `/bunc-test-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  private n = 0;

  async setup(): Promise<void> {
    // Reachable by the uids a user namespace maps the container's root to.
    chmodSync(this.dir, 0o755);
    await makeRootfs(this.rootfs);
  }

  private calls = 0;

  /**
   * Runs bunc with its output in files: a created container inherits the
   * caller's stdio, so pipes would stay open as long as the container lives.
   */
  bunc(
    args: readonly string[],
    opts: { stdin?: string; env?: Record<string, string>; cwd?: string } = {},
  ): Result {
    const base = join(this.dir, `call-${++this.calls}`);
    const r = Bun.spawnSync([BUNC, "--root", this.root, ...args], {
      stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
      stdout: Bun.file(`${base}.out`),
      stderr: Bun.file(`${base}.err`),
      env: opts.env ?? { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      cwd: opts.cwd ?? this.dir,
    });
    const read = (p: string) => (existsSync(p) ? readFileSync(p, "utf8") : "");
    return { code: r.exitCode ?? -1, stdout: read(`${base}.out`), stderr: read(`${base}.err`) };
  }

  /** bunc that must succeed; returns stdout. */
  ok(args: readonly string[], opts: { stdin?: string } = {}): string {
    const r = this.bunc(args, opts);
    if (r.code !== 0) throw new Error(`bunc ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  id(prefix = "c"): string {
    return `${prefix}${++this.n}-${process.pid}`;
  }

  /** A bundle running `args` with the default spec, terminal off, cgroup under our parent. */
  bundle(id: string, args: readonly string[], edit?: (c: Config) => void): string {
    const dir = join(this.dir, "bundles", id);
    mkdirSync(dir, { recursive: true });
    const config = defaultSpec();
    config.process.terminal = false;
    config.process.args = [...args];
    config.root.path = this.rootfs;
    config.linux = { ...config.linux, cgroupsPath: `${this.cgroupParent}/${id}` };
    edit?.(config);
    writeFileSync(join(dir, "config.json"), stringifyExact(config));
    return dir;
  }

  /** The container's cgroup directory in each mounted hierarchy. */
  cgroupDirs(id: string): string[] {
    return this.hierarchies().map((h) => `${h}${this.cgroupParent}/${id}`);
  }

  hierarchies(): string[] {
    return readdirSync(CGROUP_MOUNTS)
      .map((n) => join(CGROUP_MOUNTS, n))
      .filter((p) => existsSync(join(p, "cgroup.procs")));
  }

  state(id: string): { status: string; pid: number; [k: string]: unknown } {
    return JSON.parse(this.ok(["state", id]));
  }

  async waitStatus(id: string, status: string, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    let last = "";
    while (Date.now() < end) {
      // The container may not exist yet (a run still creating it).
      const r = this.bunc(["state", id]);
      last = r.code === 0 ? JSON.parse(r.stdout).status : r.stderr.trim();
      if (last === status) return;
      await Bun.sleep(10);
    }
    throw new Error(`container ${id} did not reach ${status}: ${last}`);
  }

  /**
   * The test's cgroup parent in every hierarchy, and where a relative
   * cgroupsPath would put it: below this process's own cgroups.
   */
  private cgroupParents(): string[] {
    const own = readFileSync("/proc/self/cgroup", "utf8")
      .split("\n")
      .map((l) => l.split(":")[2] ?? "")
      .filter((p) => p && p !== "/");
    return this.hierarchies().flatMap((h) => [
      `${h}${this.cgroupParent}`,
      ...own.map((o) => `${h}${o}${this.cgroupParent}`),
    ]);
  }

  /** What this env left on the machine: state dirs, cgroups, mounts. */
  leftovers(): string[] {
    const found: string[] = [];
    // The filter cache and the plugins' stores are bunc's, not a container's.
    const states = () =>
      existsSync(this.root) ? readdirSync(this.root).filter((e) => !OWN_STORES.includes(e)) : [];
    for (const e of states()) found.push(`state dir ${e}`);
    const ours = new Set(this.hierarchies().map((h) => `${h}${this.cgroupParent}`));
    for (const p of this.cgroupParents()) {
      if (!existsSync(p)) continue;
      // Our own parent may stay until cleanup; one below another cgroup is a leak itself.
      if (!ours.has(p)) found.push(`cgroup ${p}`);
      for (const e of readdirSync(p, { withFileTypes: true }))
        if (e.isDirectory()) found.push(`cgroup ${p}/${e.name}`);
    }
    for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
      if (line.includes(this.dir)) found.push(`mount ${line}`);
    }
    return found;
  }

  /** Every step is tried whatever the others did; the first failure is reported at the end. */
  async cleanup(): Promise<void> {
    const failures: unknown[] = [];
    const attempt = (step: () => void) => {
      try {
        step();
      } catch (e) {
        failures.push(e);
      }
    };
    if (existsSync(this.root)) {
      for (const id of readdirSync(this.root).filter((e) => !OWN_STORES.includes(e)))
        attempt(() => this.bunc(["delete", "--force", id]));
    }
    for (const dir of this.cgroupParents()) attempt(() => existsSync(dir) && rmTree(dir));
    attempt(() => rmSync(this.dir, { recursive: true, force: true }));
    if (failures.length) throw failures[0];
  }
}

/** Gives the config a user namespace of its own mapping 0-65535 to 100000-165535. */
export function withUserns(c: Config): void {
  c.linux = {
    ...c.linux,
    namespaces: [...(c.linux?.namespaces ?? []), { type: "user" }],
    uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
  };
}

/** Runs a container in the foreground and returns its output. */
export function runIn(
  env: TestEnv,
  args: readonly string[],
  edit?: (c: Config) => void,
  stdin?: string,
): Result {
  const id = env.id("run");
  const bundle = env.bundle(id, args, edit);
  return env.bunc(["run", "--bundle", bundle, id], stdin === undefined ? {} : { stdin });
}

/**
 * `create` of each id at once (argv made by `argv`, output to files, as a
 * created container keeps create's stdio open); each one's stderr, in order.
 */
export async function createAtOnce(
  env: TestEnv,
  ids: readonly string[],
  argv: (id: string) => string[],
): Promise<string[]> {
  const procs = ids.map((id) =>
    Bun.spawn(argv(id), { stdout: "ignore", stderr: Bun.file(join(env.dir, `${id}.err`)) }),
  );
  const codes = await Promise.all(procs.map((p) => p.exited));
  return ids.map(
    (id, i) => `${readFileSync(join(env.dir, `${id}.err`), "utf8")}${codes[i] ? `(exit ${codes[i]})` : ""}`,
  );
}

/** A TestEnv for one test file: set up before its tests, and after them
 * checked to have left nothing behind, then cleaned up whatever happened.
 * Without root the tests fail: they are never skipped in silence. */
export function useTestEnv(): TestEnv {
  const env = new TestEnv();
  beforeAll(() => {
    if (process.getuid?.() !== 0)
      throw new Error("the integration tests start real containers: run them as root");
    return env.setup();
  });
  afterAll(async () => {
    const left = env.leftovers();
    await env.cleanup();
    expect(left).toEqual([]);
  });
  return env;
}

/**
 * A console socket as an engine holds one (python3: Bun cannot receive an
 * fd): it listens on sock, takes the pty master, types `input`, and reads
 * the terminal until `until` appears (5 s at most). `listening` resolves
 * once it can be connected to; `output` is what it read, as it ends.
 */
export async function consoleReceiver(
  sock: string,
  input: string,
  until: string,
): Promise<{ output: Promise<string> }> {
  const receiver = Bun.spawn(
    [
      "python3",
      "-c",
      `
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1); print("listening", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 1, 1)
m = fds[0]
print("isatty", os.isatty(m), flush=True)
if sys.argv[2]:
    os.write(m, sys.argv[2].encode())
out = b""
deadline = time.time() + 5
while sys.argv[3].encode() not in out and time.time() < deadline:
    try:
        out += os.read(m, 1024)
    except OSError:
        break
sys.stdout.write(out.decode())
`,
      sock,
      input,
      until,
    ],
    { stdout: "pipe", stderr: "inherit" },
  );
  const reader = receiver.stdout.getReader();
  let text = "";
  while (!text.includes("listening\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the console receiver ended before it listened");
    text += new TextDecoder().decode(value);
  }
  const output = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    if ((await receiver.exited) !== 0) throw new Error(`the console receiver failed: ${text}`);
    return text.slice(text.indexOf("listening\n") + "listening\n".length);
  })();
  return { output };
}
