// What the engine tests share: installing the engines from Debian, a daemon
// of the test's own that stops with it, and removing what a daemon leaves
// outside the test's directories whatever it is told.
import { test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { BUNC, type TestEnv } from "./harness.ts";
import { basename, join, resolve } from "node:path";
import type { Subprocess } from "bun";

/**
 * The runtime the engines drive: bunc, or another (ENGINE_RUNTIME=/usr/sbin/runc)
 * to see what an engine does with it on this machine; scenarios that test
 * bunc's own additions are skipped then.
 */
export const RUNTIME = process.env.ENGINE_RUNTIME || BUNC;
export const IS_BUNC = RUNTIME === BUNC;

/** dockerd, containerd and its shim, podman and conmon, from Debian when missing. */
export function installEngines(): void {
  const install = Bun.spawnSync(["sh", resolve(import.meta.dir, "../engines/install.sh")], {
    stderr: "pipe",
  });
  if (install.exitCode !== 0) throw new Error(`installing the engines failed: ${install.stderr.toString()}`);
}

/**
 * Paths an engine makes on the host and takes away only in part; removed
 * after, with any mount on or below them (podman bind-mounts /run/netns on
 * itself), unless they were there before.
 */
export class HostLeftovers {
  private readonly before: string[];
  constructor(private readonly paths: readonly string[]) {
    this.before = paths.filter((p) => existsSync(p));
  }
  remove(): void {
    for (const p of this.paths) {
      if (this.before.includes(p) || !existsSync(p)) continue;
      for (const m of mountsAtOrBelow(p)) Bun.spawnSync(["umount", "-l", m]);
      rmSync(p, { recursive: true });
    }
  }
}

function mountsAtOrBelow(path: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === path || m.startsWith(`${path}/`))
    .reverse();
}

/**
 * A network namespace of the test's own, pinned by a file in its directory:
 * an engine and all it starts run in it, so whatever bridge, address, route
 * or firewall rule they make never touches the host's network.
 */
export class PrivateNetns {
  readonly path: string;
  constructor(dir: string) {
    this.path = join(dir, "netns");
    writeFileSync(this.path, "");
    for (const cmd of [
      ["unshare", `--net=${this.path}`, "true"],
      this.wrap(["ip", "link", "set", "lo", "up"]),
    ]) {
      const r = Bun.spawnSync(cmd, { stderr: "pipe" });
      if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString()}`);
    }
  }
  /** The command, run in the namespace. */
  wrap(cmd: readonly string[]): string[] {
    return ["nsenter", `--net=${this.path}`, "--", ...cmd];
  }
  remove(): void {
    if (mountsAtOrBelow(this.path).length) Bun.spawnSync(["umount", this.path]);
  }
}

/**
 * A containerd of the test's own, in its network namespace: root, state and
 * sockets under dir; `cri` is the CRI plugin's part of the config (none:
 * the plugin is off). Resolves once its socket answers.
 */
export async function startContainerd(
  dir: string,
  netns: PrivateNetns,
  cri: readonly string[] | null,
): Promise<Subprocess> {
  writeFileSync(
    join(dir, "config.toml"),
    [
      "version = 2",
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      "[grpc]",
      `  address = "${dir}/containerd.sock"`,
      "[ttrpc]",
      `  address = "${dir}/containerd.sock.ttrpc"`,
      ...(cri ?? ['[plugins."io.containerd.grpc.v1.cri"]', "  disable = true"]),
      "",
    ].join("\n"),
  );
  const daemon = Bun.spawn(netns.wrap(["containerd", "--config", join(dir, "config.toml")]), {
    stdout: Bun.file(join(dir, "containerd.log")),
    stderr: Bun.file(join(dir, "containerd.err")),
  });
  await waitReady(() => existsSync(`${dir}/containerd.sock`), "containerd");
  return daemon;
}

/**
 * The limits-and-security scenario both docker and podman run: the flags,
 * the command that reports what the container got, and what it must report.
 */
export const LIMITS_SCENARIO = {
  flags: [
    "--memory",
    "64m",
    "--pids-limit",
    "50",
    "--user",
    "65534:65534",
    "--read-only",
    "--cap-drop",
    "ALL",
  ],
  command: [
    "sh",
    "-c",
    "id -u; grep CapEff /proc/self/status; touch /x 2>/dev/null && echo writable || echo read-only; cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes",
  ],
  expected: ["65534", "CapEff:\t0000000000000000", "read-only", "50", String(64 << 20)],
} as const;

/**
 * The engine suite's scenarios: bun's tests, each also recorded, so that the
 * suite ends with one line per scenario and the total for the engine.
 */
export function scenarios(engine: string): {
  scenario: (name: string, fn: () => unknown, skip?: boolean) => void;
  report: () => void;
} {
  const results: [string, "passed" | "FAILED"][] = [];
  const scenario = (name: string, fn: () => unknown, skip = false) =>
    test.skipIf(skip)(name, async () => {
      try {
        await fn();
        results.push([name, "passed"]);
      } catch (e) {
        results.push([name, "FAILED"]);
        throw e;
      }
    });
  const report = () => {
    const passed = results.filter(([, r]) => r === "passed").length;
    const lines = results.map(([name, r]) => `  ${r}  ${name}`);
    console.log(
      [
        `${engine} with ${basename(RUNTIME)}:`,
        ...lines,
        `  ${passed} of ${results.length} scenarios passed`,
      ].join("\n"),
    );
  };
  return { scenario, report };
}

/** Stops a daemon we started (SIGTERM, then SIGKILL) and unmounts what it left under dir. */
export async function stopDaemon(daemon: Subprocess | undefined, dir: string): Promise<void> {
  if (daemon) {
    daemon.kill("SIGTERM");
    await Promise.race([daemon.exited, Bun.sleep(20_000)]);
    if (daemon.exitCode === null) daemon.kill("SIGKILL");
    await daemon.exited;
  }
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n").reverse()) {
    const mountpoint = line.split(" ")[4];
    if (dir && mountpoint?.startsWith(`${dir}/`)) Bun.spawnSync(["umount", "-l", mountpoint]);
  }
}

/** Polls ready() every 50 ms for up to 15 s. */
export async function waitReady(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (ready()) return;
    await Bun.sleep(50);
  }
  throw new Error(`${what} did not come up`);
}

/**
 * Removes the cgroup parent an engine made under the test's own, in every
 * hierarchy, with what it left below it (podman's conmon cgroup), once its
 * processes have gone (conmon runs podman's cleanup command as it exits):
 * empty directories only, so a process still there after 15 s fails the test.
 */
export async function removeEngineCgroups(env: TestEnv, name: string): Promise<void> {
  await removeCgroupTrees(env.hierarchies().map((h) => `${h}${env.cgroupParent}/${name}`));
}

/** The same for a parent an engine insists on (podman's /libpod_parent), when the test made it. */
export async function removeOwnParent(path: string): Promise<void> {
  await removeCgroupTrees(readdirSync("/sys/fs/cgroup").map((h) => `/sys/fs/cgroup/${h}${path}`));
}

async function removeCgroupTrees(roots: readonly string[]): Promise<void> {
  const dirs = (dir: string): string[] => [
    ...readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .flatMap((e) => dirs(`${dir}/${e.name}`)),
    dir,
  ];
  const parents = roots.filter((p) => existsSync(p) && statSync(p).isDirectory());
  const busy = () =>
    parents.flatMap(dirs).some((d) => readFileSync(`${d}/cgroup.procs`, "utf8").trim() !== "");
  await waitReady(() => !busy(), "the engine's cgroups to empty").catch(() => {});
  for (const d of parents.flatMap(dirs)) rmdirSync(d);
}
