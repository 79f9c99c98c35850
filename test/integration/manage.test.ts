// The verbs engines use on a running container: pause and resume through
// the freezer, kill and delete of a paused container, and update of its
// resources, checked in the cgroup files and from the processes.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { Cgroup } from "../../src/cgroups/cgroup.ts";
import { hostHierarchies } from "../../src/cgroups/hierarchy.ts";
import { useTestEnv } from "./harness.ts";

const env = useTestEnv();

const read = (file: string) => readFileSync(file, "utf8").trim();
const dirIn = (id: string, name: string) => `/sys/fs/cgroup/${name}${env.cgroupParent}/${id}`;
/** The scheduler state letter of a process (R, S, D, T...). */
const stateOf = (pid: number) => /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];

const made: string[] = [];
afterEach(() => {
  for (const id of made.splice(0)) env.bunc(["delete", "--force", id]);
});

/** A running container with a shell and a background child; its id and the child's pid file. */
function running(edit?: Parameters<typeof env.bundle>[2]): string {
  const id = env.id("mg");
  env.ok(["create", "--bundle", env.bundle(id, ["sh", "-c", "sleep 100 & wait"], edit), id]);
  made.push(id);
  env.ok(["start", id]);
  return id;
}

async function pidsOf(id: string, n: number): Promise<number[]> {
  const file = `${dirIn(id, "pids")}/cgroup.procs`;
  for (let i = 0; i < 400; i++) {
    const pids = read(file).split("\n").filter(Boolean).map(Number);
    if (pids.length >= n) return pids;
    await Bun.sleep(5);
  }
  throw new Error(`container ${id} did not reach ${n} processes`);
}

describe("pause and resume", () => {
  test("every process is frozen, shown as paused in state and list, and runs again on resume", async () => {
    const id = running();
    const pids = await pidsOf(id, 2);
    env.ok(["pause", id]);
    expect(read(`${dirIn(id, "freezer")}/freezer.state`)).toBe("FROZEN");
    expect(env.state(id).status).toBe("paused");
    const listed = JSON.parse(env.ok(["list", "--format", "json"])) as { id: string; status: string }[];
    expect(listed.find((c) => c.id === id)?.status).toBe("paused");
    for (const pid of pids) expect(stateOf(pid)).toBe("D");
    expect(env.bunc(["pause", id]).stderr).toBe(
      `bunc: cannot pause container ${id}: it is paused, not running\n`,
    );
    expect(env.bunc(["delete", id]).stderr).toBe(
      `bunc: cannot delete container ${id} that is not stopped: paused (use --force)\n`,
    );
    env.ok(["resume", id]);
    expect(read(`${dirIn(id, "freezer")}/freezer.state`)).toBe("THAWED");
    expect(env.state(id).status).toBe("running");
    for (const pid of pids) expect(stateOf(pid)).toBe("S");
    expect(env.bunc(["resume", id]).stderr).toBe(
      `bunc: cannot resume container ${id}: it is running, not paused\n`,
    );
  });

  test("a created container cannot be paused", () => {
    const id = env.id("mg");
    env.ok(["create", "--bundle", env.bundle(id, ["true"]), id]);
    made.push(id);
    const r = env.bunc(["pause", id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`bunc: cannot pause container ${id}: it is created, not running\n`);
  });

  test("kill --all of a paused container signals every process and leaves it paused; SIGKILL ends it", async () => {
    const id = running();
    const pids = await pidsOf(id, 2);
    env.ok(["pause", id]);
    env.ok(["kill", "--all", id, "USR1"]);
    expect(env.state(id).status).toBe("paused");
    // Pending on the child (the shell is the pid namespace's init, which drops a signal it does not handle).
    const child = pids.find((p) => p !== env.state(id).pid);
    expect(readFileSync(`/proc/${child}/status`, "utf8")).toMatch(/^ShdPnd:\s+0*200$/m);
    env.ok(["kill", "--all", id, "KILL"]);
    await env.waitStatus(id, "stopped");
  });

  test("kill --all with a signal other than KILL: sent with the cgroup frozen, which is thawed after", async () => {
    const id = running();
    await pidsOf(id, 2);
    env.ok(["kill", "--all", id, "TERM"]);
    await env.waitStatus(id, "stopped");
    for (let i = 0; i < 400 && read(`${dirIn(id, "pids")}/cgroup.procs`) !== ""; i++) await Bun.sleep(5);
    expect(read(`${dirIn(id, "pids")}/cgroup.procs`)).toBe("");
    expect(read(`${dirIn(id, "freezer")}/freezer.state`)).toBe("THAWED");
  });

  test("delete --force of a paused container ends it and removes its cgroup", async () => {
    const id = running();
    await pidsOf(id, 2);
    env.ok(["pause", id]);
    const dirs = env.cgroupDirs(id);
    env.ok(["delete", "--force", id]);
    for (const d of dirs) expect(() => readFileSync(`${d}/cgroup.procs`)).toThrow();
  });
});

describe("the cgroup2 freezer and nested cgroups", () => {
  test("cgroup.freeze on the real cgroup2 mount freezes and thaws the container (as where v1 has no freezer)", async () => {
    const id = running();
    const pids = await pidsOf(id, 2);
    const state = JSON.parse(read(`${env.root}/${id}/state.json`));
    // The same cgroup seen without the v1 hierarchies: only cgroup2 answers.
    const v2Only = Cgroup.fromState(
      id,
      { ...state.cgroup, dirs: state.cgroup.dirs.filter((d: { version: number }) => d.version === 2) },
      hostHierarchies().filter((h) => h.version === 2),
    );
    const dir = `/sys/fs/cgroup/unified${env.cgroupParent}/${id}`;
    v2Only.setFrozen(true);
    expect(read(`${dir}/cgroup.events`)).toContain("frozen 1");
    expect(v2Only.frozen).toBe(true);
    // cgroup2 parks frozen tasks in an interruptible sleep; "frozen 1" is the kernel's word that all are.
    for (const pid of pids) expect(stateOf(pid)).toBe("S");
    v2Only.setFrozen(false);
    expect(read(`${dir}/cgroup.events`)).toContain("frozen 0");
    expect(v2Only.frozen).toBe(false);
  });

  test("processes in cgroups made below the container's are listed, killed, and their cgroups removed", async () => {
    const id = running();
    const pids = await pidsOf(id, 2);
    const child = pids.find((p) => p !== env.state(id).pid) ?? 0;
    const nested = `${dirIn(id, "pids")}/inner`;
    mkdirSync(nested);
    writeFileSync(`${nested}/cgroup.procs`, String(child));
    expect(read(`${dirIn(id, "pids")}/cgroup.procs`)).not.toContain(String(child));
    const listed = JSON.parse(env.ok(["ps", "--format", "json", id])) as number[];
    expect(listed.sort()).toEqual([...pids].sort());
    env.ok(["delete", "--force", id]);
    expect(existsSync(nested)).toBe(false);
    expect(existsSync(`/proc/${child}/status`) && stateOf(child) !== "Z").toBe(false);
  });
});

describe("update", () => {
  test("runc's flags change the cgroup files live, and the state keeps them for the next update", async () => {
    const id = running((c) => {
      c.linux = { ...c.linux, resources: { memory: { limit: 64 << 20 }, pids: { limit: 100 } } };
    });
    env.ok([
      "update",
      "--memory",
      "128m",
      "--memory-swap",
      "256m",
      "--cpu-share",
      "256",
      "--pids-limit",
      "50",
      id,
    ]);
    expect(read(`${dirIn(id, "memory")}/memory.limit_in_bytes`)).toBe(String(128 << 20));
    expect(read(`${dirIn(id, "memory")}/memory.memsw.limit_in_bytes`)).toBe(String(256 << 20));
    expect(read(`${dirIn(id, "cpu")}/cpu.shares`)).toBe("256");
    expect(read(`${dirIn(id, "pids")}/pids.max`)).toBe("50");
    env.ok([
      "update",
      ...[
        "--cpu-period",
        "200000",
        "--cpu-quota",
        "100000",
        "--cpuset-cpus",
        "0",
        "--memory-reservation",
        "32m",
      ],
      id,
    ]);
    expect(read(`${dirIn(id, "cpu")}/cpu.cfs_period_us`)).toBe("200000");
    expect(read(`${dirIn(id, "cpu")}/cpu.cfs_quota_us`)).toBe("100000");
    expect(read(`${dirIn(id, "cpuset")}/cpuset.cpus`)).toBe("0");
    expect(read(`${dirIn(id, "memory")}/memory.soft_limit_in_bytes`)).toBe(String(32 << 20));
    // Down again: the limit goes before memory+swap, which may not fall below it.
    env.ok(["update", "--memory", "32m", "--memory-swap", "48m", id]);
    expect(read(`${dirIn(id, "memory")}/memory.limit_in_bytes`)).toBe(String(32 << 20));
    expect(read(`${dirIn(id, "memory")}/memory.memsw.limit_in_bytes`)).toBe(String(48 << 20));
    const state = JSON.parse(read(`${env.root}/${id}/state.json`));
    expect(state.resources).toMatchObject({
      memory: { limit: 32 << 20, swap: 48 << 20, reservation: 32 << 20 },
      cpu: { shares: 256, period: 200000, quota: 100000, cpus: "0" },
      pids: { limit: 50 },
    });
  });

  test("--resources takes containerd's JSON from stdin; bad input is refused by flag or path", () => {
    const id = running();
    const json = JSON.stringify({
      memory: { limit: 100 << 20 },
      cpu: { shares: 2048, quota: 50000, period: 100000 },
    });
    env.ok(["update", "--resources", "-", id], { stdin: json });
    expect(read(`${dirIn(id, "memory")}/memory.limit_in_bytes`)).toBe(String(100 << 20));
    expect(read(`${dirIn(id, "cpu")}/cpu.shares`)).toBe("2048");
    expect(read(`${dirIn(id, "cpu")}/cpu.cfs_quota_us`)).toBe("50000");
    const cases: [string[], string, string?][] = [
      [["--memory", "lots"], '--memory: "lots" is not a size (like 512m or 1g)'],
      [["--blkio-weight", "5"], "--blkio-weight: must be from 10 to 1000 (0 leaves it unset)"],
      [["--l3-cache-schema", "L3:0=f"], "--l3-cache-schema: Intel RDT is not supported by bunc"],
      [["--resources", "-", "--memory", "1g"], "--resources cannot be combined with --memory"],
      [["--resources", "-"], "--resources: memory.limit: ", '{"memory":{"limit":"1g"}}'],
      [["--memory", "1m", "--memory-swap", "512k"], "linux.resources.memory.swap: the kernel refused"],
    ];
    for (const [flags, message, stdin] of cases) {
      const r = env.bunc(["update", ...flags, id], stdin === undefined ? {} : { stdin });
      expect(r.code).toBe(1);
      expect(r.stderr).toStartWith(`bunc: ${message}`);
    }
    // Nothing of the refused updates was kept.
    expect(JSON.parse(read(`${env.root}/${id}/state.json`)).resources.memory.limit).toBe(100 << 20);
  });

  test("checkBeforeUpdate refuses a limit below what the container uses", () => {
    const id = running();
    const r = env.bunc(["update", "--resources", "-", id], {
      stdin: JSON.stringify({ memory: { limit: 4096, checkBeforeUpdate: true } }),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^bunc: linux\.resources\.memory\.limit: 4096 is below the memory the container uses now \(\d+ bytes\), and checkBeforeUpdate is set\n$/,
    );
    expect(read(`${dirIn(id, "memory")}/memory.limit_in_bytes`)).not.toBe("4096");
  });

  test("a stopped container cannot be updated", async () => {
    const id = env.id("mg");
    env.ok(["create", "--bundle", env.bundle(id, ["true"]), id]);
    made.push(id);
    env.ok(["start", id]);
    await env.waitStatus(id, "stopped");
    expect(env.bunc(["update", "--memory", "1g", id]).stderr).toBe(
      `bunc: cannot update container ${id}: it is stopped\n`,
    );
  });
});
