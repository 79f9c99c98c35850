// dockerd drives bunc (`runtimes` in its daemon.json, as --add-runtime
// does): docker's own libnetwork prestart hook runs, and a plugin from
// bunc's hooks directory runs for docker's containers with no change to
// docker. The dockerd is the test's own: its data, exec root, socket and
// cgroups live under the test's directories, and it stops with the test; it
// runs in a network namespace of the test's own.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import {
  HostLeftovers,
  IS_BUNC,
  installEngines,
  LIMITS_SCENARIO,
  PrivateNetns,
  RUNTIME,
  removeEngineCgroups,
  scenarios,
  stopDaemon,
  waitReady,
} from "./engines.ts";
import { BUNC, useTestEnv } from "./harness.ts";

const env = useTestEnv();
const IMAGE = "local/bunc-test:1";
const { scenario, report } = scenarios("dockerd");
// bunc as docker knows it, and no network (dockerd runs with no bridge).
const NO_NETWORK = ["--runtime", "bunc", "--network", "none"];

let dockerd: Subprocess | undefined;
let dir = "";
// What dockerd makes outside its own roots whatever it is told.
let leftovers: HostLeftovers | undefined;
let netns: PrivateNetns | undefined;

function docker(args: string[], stdin?: string): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync(["docker", "-H", `unix://${dir}/docker.sock`, ...args], {
    stdin: stdin === undefined ? "ignore" : Buffer.from(stdin),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", DOCKER_CONFIG: join(dir, "client") },
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function dockerOk(args: string[]): string {
  const r = docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

describe("dockerd with bunc as its runtime", () => {
  beforeAll(async () => {
    installEngines();
    // dockerd writes its key into /etc/docker, which the docker.io package may have made.
    leftovers = new HostLeftovers(["/etc/docker", "/etc/docker/key.json", "/run/docker", "/run/containerd"]);
    dir = join(env.dir, "docker");
    mkdirSync(join(dir, "hooks.d"), { recursive: true });
    chmodSync(dir, 0o755);
    chmodSync(join(dir, "hooks.d"), 0o755);
    netns = new PrivateNetns(dir);
    // The log plugin, for every container of every engine that runs bunc with this directory.
    writeFileSync(
      join(dir, "hooks.d", "50-bunc-log.json"),
      JSON.stringify({
        version: "1.0.0",
        hook: { path: BUNC, args: ["bunc", "hook", "log", "--file", join(dir, "life.jsonl")] },
        when: { always: true },
        stages: ["createRuntime", "poststart", "poststop"],
      }),
      { mode: 0o644 },
    );
    writeFileSync(
      join(dir, "daemon.json"),
      JSON.stringify({
        runtimes: {
          bunc: { path: RUNTIME, ...(IS_BUNC && { runtimeArgs: ["--hooks-dir", join(dir, "hooks.d")] }) },
        },
      }),
    );
    dockerd = Bun.spawn(
      netns.wrap([
        "dockerd",
        `--config-file=${dir}/daemon.json`,
        `--data-root=${dir}/data`,
        `--exec-root=${dir}/exec`,
        `--pidfile=${dir}/dockerd.pid`,
        `--host=unix://${dir}/docker.sock`,
        // No bridge, no iptables: no interface or rule on the host; containers use --network none.
        "--bridge=none",
        "--iptables=false",
        "--ip-masq=false",
        `--cgroup-parent=${env.cgroupParent}/docker`,
      ]),
      { stdout: Bun.file(join(dir, "dockerd.log")), stderr: Bun.file(join(dir, "dockerd.err")) },
    );
    await waitReady(() => docker(["version"]).code === 0, "dockerd");
    const tar = Bun.spawnSync(["tar", "-C", env.rootfs, "-cf", "-", "."], { stdout: "pipe" });
    const imported = Bun.spawnSync(["docker", "-H", `unix://${dir}/docker.sock`, "import", "-", IMAGE], {
      stdin: tar.stdout,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", DOCKER_CONFIG: join(dir, "client") },
    });
    if (imported.exitCode !== 0) throw new Error(`docker import failed: ${imported.stderr.toString()}`);
  }, 300_000);

  afterAll(async () => {
    report();
    if (dockerd) {
      const ids = docker(["ps", "-aq"]).stdout.trim().split("\n").filter(Boolean);
      if (ids.length) docker(["rm", "-f", ...ids]);
    }
    // dockerd unmounts what it mounted as it stops; anything it left would block the removal below.
    await stopDaemon(dockerd, dir);
    netns?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
    // The cgroup parent dockerd made for its containers, under the test's own.
    await removeEngineCgroups(env, "docker");
    leftovers?.remove();
  });

  scenario(
    "docker run works, docker's libnetwork hook runs, and bunc's log plugin records the container",
    () => {
      const name = `bunc-${process.pid}`;
      const out = docker(["run", "--name", name, ...NO_NETWORK, IMAGE, "sh", "-c", "echo hi; exit 3"]);
      expect(out.stdout).toBe("hi\n");
      expect(out.code).toBe(3);
      const [id, sandboxKey, runtime] = dockerOk([
        "inspect",
        "-f",
        "{{.Id}} {{.NetworkSettings.SandboxKey}} {{.HostConfig.Runtime}}",
        name,
      ])
        .trim()
        .split(" ");
      expect(runtime).toBe("bunc");
      // libnetwork-setkey (run as /proc/<dockerd>/exe) told dockerd the container's network namespace.
      expect(sandboxKey).toStartWith(`${dir}/exec/netns/`);
      dockerOk(["rm", name]);
      if (!IS_BUNC) return;
      const records = readFileSync(join(dir, "life.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
        .filter((r) => r.id === id);
      expect(records.map((r) => r.event)).toEqual(["created", "started", "stopped"]);
      expect(records[0].state.bundle).toContain(id);
      // Nothing of it is left in the state root dockerd gives its runc-like runtimes.
      const root = join(dir, "exec", "runtime-runc", "moby");
      expect(existsSync(root) ? readdirSync(root).filter((e) => !e.startsWith(".")) : []).toEqual([]);
    },
  );

  scenario("a detached container: exec, top, pause and unpause, update, stop, rm", () => {
    const name = `bunc-d-${process.pid}`;
    dockerOk(["run", "-d", "--name", name, ...NO_NETWORK, "--memory", "64m", IMAGE, "sleep", "1000"]);
    try {
      expect(dockerOk(["exec", name, "sh", "-c", "echo in $(hostname); exit 0"]).trim()).toStartWith("in ");
      const failed = docker(["exec", name, "sh", "-c", "exit 5"]);
      expect(failed.code).toBe(5);
      expect(dockerOk(["top", name])).toContain("sleep 1000");
      dockerOk(["pause", name]);
      expect(dockerOk(["inspect", "-f", "{{.State.Status}}", name]).trim()).toBe("paused");
      dockerOk(["unpause", name]);
      dockerOk(["update", "--memory", "96m", "--memory-swap", "128m", name]);
      const id = dockerOk(["inspect", "-f", "{{.Id}}", name]).trim();
      const memory = `/sys/fs/cgroup/memory${env.cgroupParent}/docker/${id}/memory.limit_in_bytes`;
      expect(readFileSync(memory, "utf8").trim()).toBe(String(96 << 20));
      dockerOk(["stop", "-t", "1", name]);
      expect(dockerOk(["inspect", "-f", "{{.State.Status}}", name]).trim()).toBe("exited");
    } finally {
      docker(["rm", "-f", name]);
    }
  });

  scenario("limits and security: --memory, --pids-limit, --user, --read-only, --cap-drop ALL", () => {
    const out = dockerOk([
      "run",
      "--rm",
      ...LIMITS_SCENARIO.flags,
      ...NO_NETWORK,
      IMAGE,
      ...LIMITS_SCENARIO.command,
    ]);
    expect(out.trim().split("\n")).toEqual([...LIMITS_SCENARIO.expected]);
  });
});
