// containerd drives bunc (`ctr run --runc-binary`): a containerd of the
// test's own (its root, state and sockets under the test's directory, no
// CRI), containers from the test's rootfs (`ctr run --rootfs`) in cgroups
// under the test's parent, and the terminal through `script`. The daemon and
// its shims run in a network namespace of the test's own.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import {
  HostLeftovers,
  installEngines,
  PrivateNetns,
  RUNTIME,
  scenarios,
  startContainerd,
  stopDaemon,
  waitReady,
} from "./engines.ts";
import { useTestEnv } from "./harness.ts";

const env = useTestEnv();
const NS = "bunctest";
const { scenario, report } = scenarios("containerd");

let containerd: Subprocess | undefined;
let dir = "";
let leftovers: HostLeftovers | undefined;
let netns: PrivateNetns | undefined;

function ctr(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync(["ctr", "-a", `${dir}/containerd.sock`, "-n", NS, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    timeout: 60_000,
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const RUN = () => ["--runc-binary", RUNTIME, "--rootfs", "--env", "PATH=/bin:/usr/bin"];

/** A command under `script`, which gives it a terminal of its own. */
function inTerminal(args: string[]): { code: number; stdout: string } {
  const line = ["ctr", "-a", `${dir}/containerd.sock`, "-n", NS, ...args].map((a) => `'${a}'`).join(" ");
  const r = Bun.spawnSync(["script", "-qec", line, "/dev/null"], { timeout: 60_000 });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString() };
}

describe("containerd with bunc as its runc binary", () => {
  beforeAll(async () => {
    installEngines();
    leftovers = new HostLeftovers(["/run/containerd"]);
    dir = join(env.dir, "containerd");
    mkdirSync(dir, { recursive: true });
    netns = new PrivateNetns(dir);
    containerd = await startContainerd(dir, netns, null);
    await waitReady(() => ctr(["version"]).code === 0, "containerd");
  }, 300_000);

  afterAll(async () => {
    report();
    if (containerd) {
      for (const id of ctr(["task", "ls", "-q"]).stdout.trim().split("\n").filter(Boolean)) {
        ctr(["task", "kill", "-s", "KILL", id]);
        ctr(["task", "delete", "-f", id]);
      }
      for (const id of ctr(["container", "ls", "-q"]).stdout.trim().split("\n").filter(Boolean))
        ctr(["container", "delete", id]);
    }
    await stopDaemon(containerd, dir);
    netns?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
    leftovers?.remove();
  });

  const cgroup = (id: string) => `${env.cgroupParent}/${id}`;

  scenario("a create that fails: containerd reports bunc's own error, read from its log", () => {
    const id = `c${process.pid}x`;
    const r = ctr(["run", "--rm", "--cgroup", cgroup(id), ...RUN(), env.rootfs, id, "/no/such/program"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("process.args[0]");
    expect(r.stderr).not.toContain("unable to retrieve OCI runtime error");
  });

  scenario("run: stdout and the exit code", () => {
    const id = `c${process.pid}a`;
    const r = ctr([
      "run",
      "--rm",
      "--cgroup",
      cgroup(id),
      ...RUN(),
      env.rootfs,
      id,
      "sh",
      "-c",
      "echo hello; exit 3",
    ]);
    expect(r.stdout).toBe("hello\n");
    expect(r.code).toBe(3);
  });

  scenario("a detached task: exec, ps, pause and resume, kill, delete; its memory limit", async () => {
    const id = `c${process.pid}b`;
    const r = ctr([
      "run",
      "-d",
      "--memory-limit",
      String(64 << 20),
      "--cgroup",
      cgroup(id),
      ...RUN(),
      env.rootfs,
      id,
      "sleep",
      "1000",
    ]);
    expect(r.stderr).toBe("");
    expect(readFileSync(`/sys/fs/cgroup/memory${cgroup(id)}/memory.limit_in_bytes`, "utf8").trim()).toBe(
      String(64 << 20),
    );
    const ex = ctr(["task", "exec", "--exec-id", "e1", id, "sh", "-c", "echo exec-out; exit 4"]);
    expect(ex.stdout).toBe("exec-out\n");
    expect(ex.code).toBe(4);
    expect(ctr(["task", "ps", id]).stdout.trim().split("\n")).toHaveLength(2);
    expect(ctr(["task", "pause", id]).code).toBe(0);
    expect(ctr(["task", "ls"]).stdout).toMatch(new RegExp(`${id}\\s+\\d+\\s+PAUSED`));
    expect(ctr(["task", "resume", id]).code).toBe(0);
    expect(ctr(["task", "kill", "-s", "KILL", id]).code).toBe(0);
    await waitReady(() => /STOPPED/.test(ctr(["task", "ls"]).stdout), "the stopped task");
    expect(ctr(["task", "delete", id]).code).toBe(0);
    expect(ctr(["container", "delete", id]).code).toBe(0);
    for (const h of env.hierarchies()) expect(existsSync(`${h}${cgroup(id)}`)).toBe(false);
  });

  scenario("a terminal, for run and for exec", () => {
    const id = `c${process.pid}c`;
    const run = inTerminal([
      "run",
      "--rm",
      "-t",
      "--cgroup",
      cgroup(id),
      ...RUN(),
      env.rootfs,
      id,
      "sh",
      "-c",
      "tty; exit 2",
    ]);
    expect(run.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(run.code).toBe(2);
    const id2 = `c${process.pid}d`;
    expect(ctr(["run", "-d", "--cgroup", cgroup(id2), ...RUN(), env.rootfs, id2, "sleep", "1000"]).code).toBe(
      0,
    );
    const ex = inTerminal(["task", "exec", "-t", "--exec-id", "e2", id2, "sh", "-c", "tty; exit 6"]);
    expect(ex.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(ex.code).toBe(6);
    ctr(["task", "kill", "-s", "KILL", id2]);
  });
});
