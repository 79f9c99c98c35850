// `events` and `ps` on real containers: stats checked against the cgroup
// files read from outside, a stream that ends by itself when the container
// dies, an OOM kill reported as it happens, and the container's processes.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BUNC, useTestEnv } from "./harness.ts";

const env = useTestEnv();

/** The container's directory in one v1 hierarchy (/sys/fs/cgroup/NAME/...). */
const v1Dir = (id: string, name: string) => {
  const dir = env.cgroupDirs(id).find((d) => d.startsWith(`/sys/fs/cgroup/${name}/`));
  if (!dir || !existsSync(dir)) throw new Error(`no ${name} cgroup for ${id}`);
  return dir;
};

const procs = (dir: string) =>
  readFileSync(`${dir}/cgroup.procs`, "utf8").trim().split("\n").filter(Boolean).map(Number);

/** Waits until the container's processes are all in its cgroup (start returns before the init joins). */
async function inCgroup(id: string, count: number): Promise<number[]> {
  const dir = v1Dir(id, "pids");
  for (let i = 0; i < 500 && procs(dir).length < count; i++) await Bun.sleep(10);
  expect(procs(dir).length).toBe(count);
  return procs(dir).sort((a, b) => a - b);
}

/** `bunc events` in the background, its output in a file of the test's own. */
function eventsStream(id: string, interval: string) {
  const out = join(env.dir, `events-${id}.out`);
  const proc = Bun.spawn([BUNC, "--root", env.root, "events", "--interval", interval, id], {
    stdin: "ignore",
    stdout: Bun.file(out),
    stderr: Bun.file(`${out}.err`),
  });
  const lines = () => (existsSync(out) ? readFileSync(out, "utf8").split("\n").filter(Boolean) : []);
  /** Its exit code, or null when it has not ended within ms. */
  const exited = (ms: number) => Promise.race([proc.exited, Bun.sleep(ms).then(() => null)]);
  return { proc, lines, exited, stderr: () => readFileSync(`${out}.err`, "utf8") };
}

describe("events", () => {
  test("--stats: pids, memory and cpu as the cgroup files show them", async () => {
    const id = env.id("stats");
    env.ok(["run", "--detach", "--bundle", env.bundle(id, ["sleep", "100"]), id]);
    await inCgroup(id, 1);
    const r = env.bunc(["events", "--stats", id]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n").filter(Boolean);
    expect(lines.length).toBe(1);
    const line = lines[0] ?? "";
    const event = JSON.parse(line);
    expect(event.type).toBe("stats");
    expect(event.id).toBe(id);
    const data = event.data;
    expect(Object.keys(data)).toEqual([
      "cpu",
      "cpuset",
      "memory",
      "pids",
      "blkio",
      "hugetlb",
      "intel_rdt",
      "network_interfaces",
    ]);
    expect(data.pids.current).toBe(procs(v1Dir(id, "pids")).length);
    const memory = v1Dir(id, "memory");
    expect(data.memory.usage.usage).toBeGreaterThan(0);
    expect(data.memory.usage.max).toBeLessThanOrEqual(
      Number(readFileSync(`${memory}/memory.max_usage_in_bytes`, "utf8")),
    );
    // v1's "unlimited" is above 2^53: the line carries the file's exact digits.
    const limit = readFileSync(`${memory}/memory.limit_in_bytes`, "utf8").trim();
    expect(line).toContain(`"usage":{"limit":${limit},`);
    expect(data.cpu.usage.total).toBeGreaterThan(0);
    expect(data.cpu.usage.total).toBeLessThanOrEqual(
      Number(readFileSync(`${v1Dir(id, "cpuacct")}/cpuacct.usage`, "utf8")),
    );
    expect(data.cpu.usage.percpu.length).toBe(
      readFileSync(`${v1Dir(id, "cpuacct")}/cpuacct.usage_percpu`, "utf8")
        .trim()
        .split(/\s+/).length,
    );
    expect(data.intel_rdt).toEqual({});
    expect(data.network_interfaces).toBeNull();
    env.ok(["delete", "--force", id]);
  });

  test("a stream of stats every --interval ends by itself when the container is killed", async () => {
    const id = env.id("stream");
    env.ok(["run", "--detach", "--bundle", env.bundle(id, ["sleep", "100"]), id]);
    await inCgroup(id, 1);
    const events = eventsStream(id, "100ms");
    try {
      for (let i = 0; i < 300 && events.lines().length < 3; i++) await Bun.sleep(10);
      env.ok(["kill", id, "KILL"]);
      expect(await events.exited(5000)).toBe(0);
      expect(events.stderr()).toBe("");
      const lines = events.lines().map((l) => JSON.parse(l));
      expect(lines.length).toBeGreaterThanOrEqual(3);
      for (const e of lines) {
        expect(e.type).toBe("stats");
        expect(e.id).toBe(id);
      }
    } finally {
      events.proc.kill(9);
      await events.proc.exited;
    }
    env.ok(["delete", id]);
  });

  test("an OOM kill is reported as an oom event", async () => {
    const id = env.id("oom");
    // dd's 64 MiB block is one buffer it fills from /dev/zero: past the limit below.
    env.ok([
      "create",
      "--bundle",
      // memory+swap too, or the kernel swaps instead of killing.
      env.bundle(id, ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"], (c) => {
        c.linux = { ...c.linux, resources: { memory: { limit: 16 << 20, swap: 16 << 20 } } };
      }),
      id,
    ]);
    const memory = v1Dir(id, "memory");
    const events = eventsStream(id, "100ms");
    try {
      // The first stats line means the stream has read the OOM count it starts from.
      for (let i = 0; i < 300 && events.lines().length < 1; i++) await Bun.sleep(10);
      expect(events.lines().length).toBeGreaterThanOrEqual(1);
      env.ok(["start", id]);
      expect(await events.exited(10000)).toBe(0);
      const ooms = events.lines().filter((l) => JSON.parse(l).type === "oom");
      expect(ooms).toEqual([`{"type":"oom","id":"${id}"}`]);
      expect(readFileSync(`${memory}/memory.oom_control`, "utf8")).toContain("oom_kill 1");
    } finally {
      events.proc.kill(9);
      await events.proc.exited;
    }
    env.ok(["delete", "--force", id]);
  });

  test("a bad interval, a stopped container and an unknown one are refused", async () => {
    const id = env.id("evstop");
    env.ok(["run", "--detach", "--bundle", env.bundle(id, ["sleep", "100"]), id]);
    for (const [interval, error] of [
      ["0s", "bunc: duration interval must be greater than 0\n"],
      ["-1s", "bunc: duration interval must be greater than 0\n"],
      ["5", 'bunc: --interval: time: missing unit in duration "5"\n'],
    ] as const) {
      const r = env.bunc(["events", `--interval=${interval}`, id]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(error);
    }
    env.ok(["kill", id, "KILL"]);
    await env.waitStatus(id, "stopped");
    const r = env.bunc(["events", "--stats", id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`bunc: container with id ${id} is not running\n`);
    env.ok(["delete", id]);
    const unknown = env.bunc(["events", id]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`bunc: container ${id} does not exist\n`);
  });
});

describe("ps", () => {
  test("json lists the container's pids; the table keeps only its rows; options go to ps", async () => {
    const id = env.id("ps");
    env.ok(["run", "--detach", "--bundle", env.bundle(id, ["sh", "-c", "sleep 100 & wait"]), id]);
    const pids = await inCgroup(id, 2);
    expect(pids).toContain(env.state(id).pid);
    expect(JSON.parse(env.ok(["ps", "--format", "json", id]))).toEqual(pids);
    expect(JSON.parse(env.ok(["ps", "-f", "json", id]))).toEqual(pids);

    const [header, ...rows] = env.ok(["ps", id]).trimEnd().split("\n");
    expect(header).toMatch(/^UID\s+PID\s+PPID/);
    expect(rows.map((r) => Number(r.trim().split(/\s+/)[1])).sort((a, b) => a - b)).toEqual(pids);
    expect(rows.some((r) => r.includes("sleep 100"))).toBe(true);

    const comm = env.ok(["ps", id, "-o", "pid,comm"]).trimEnd().split("\n");
    expect(comm[0]?.trim().split(/\s+/)).toEqual(["PID", "COMMAND"]);
    expect(comm.slice(1).map((l) => l.trim().split(/\s+/))).toEqual([
      [String(pids[0]), pids[0] === env.state(id).pid ? "sh" : "sleep"],
      [String(pids[1]), pids[1] === env.state(id).pid ? "sh" : "sleep"],
    ]);
    expect(
      env
        .ok(["ps", id, "--", "-o", "pid"])
        .trimEnd()
        .split("\n")
        .map((l) => l.trim()),
    ).toEqual(["PID", ...pids.map(String)]);

    const noPid = env.bunc(["ps", id, "-o", "comm"]);
    expect(noPid.code).toBe(1);
    expect(noPid.stderr).toBe("bunc: couldn't find PID field in ps output\n");
    const badFormat = env.bunc(["ps", "--format", "yaml", id]);
    expect(badFormat.code).toBe(1);
    expect(badFormat.stderr).toBe("bunc: --format: must be table or json, not yaml\n");
    const badFlag = env.bunc(["ps", "--bogus", id]);
    expect(badFlag.code).toBe(1);
    expect(badFlag.stderr).toBe("bunc: unknown flag --bogus\n");

    env.ok(["kill", id, "KILL"]);
    await env.waitStatus(id, "stopped");
    const stopped = env.bunc(["ps", id]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toBe(`bunc: container with id ${id} is not running\n`);
    env.ok(["delete", id]);
  });

  test("a created container's init is listed, though under tight limits it joins its cgroup only on start", () => {
    const id = env.id("psc");
    const bundle = env.bundle(id, ["true"], (c) => {
      c.linux = { ...c.linux, resources: { ...c.linux?.resources, pids: { limit: 4 } } };
    });
    env.ok(["create", "--bundle", bundle, id]);
    expect(procs(v1Dir(id, "pids"))).toEqual([]);
    expect(JSON.parse(env.ok(["ps", "--format", "json", id]))).toEqual([env.state(id).pid]);
    env.ok(["delete", "--force", id]);
  });
});
