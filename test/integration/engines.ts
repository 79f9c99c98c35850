// What the engine tests share: installing the engines from Debian, a daemon
// of the test's own that stops with it, and removing what a daemon leaves
// outside the test's directories whatever it is told.
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import type { TestEnv } from "./harness.ts";
import { resolve } from "node:path";
import type { Subprocess } from "bun";

/** dockerd, containerd and its shim, podman and conmon, from Debian when missing. */
export function installEngines(): void {
  const install = Bun.spawnSync(["sh", resolve(import.meta.dir, "../engines/install.sh")], {
    stderr: "pipe",
  });
  if (install.exitCode !== 0) throw new Error(`installing the engines failed: ${install.stderr.toString()}`);
}

/** Paths a daemon makes on the host and takes away only in part; removed after unless they were there before. */
export class HostLeftovers {
  private readonly before: string[];
  constructor(private readonly paths: readonly string[]) {
    this.before = paths.filter((p) => existsSync(p));
  }
  remove(): void {
    for (const p of this.paths) if (!this.before.includes(p) && existsSync(p)) rmSync(p, { recursive: true });
  }
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
 * hierarchy, with what it left below it (podman's conmon cgroup): empty
 * directories only, so a process still there fails the test.
 */
export function removeEngineCgroups(env: TestEnv, name: string): void {
  const remove = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) remove(`${dir}/${e.name}`);
    rmdirSync(dir);
  };
  for (const h of env.hierarchies()) {
    const parent = `${h}${env.cgroupParent}/${name}`;
    if (existsSync(parent)) remove(parent);
  }
}
