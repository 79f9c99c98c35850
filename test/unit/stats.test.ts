// The stats readers of `events` against fake cgroupfs trees in the kernel's
// file formats (v1 and cgroup2), the Go JSON they are printed as, and Go's
// duration syntax for --interval.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDuration } from "../../src/cli/duration.ts";
import { hostHugePageSizes, oomKillCount, readStats, type StatsSource } from "../../src/cgroups/stats.ts";
import { eventLine } from "../../src/lifecycle/events.ts";
import { goJson } from "../../src/lifecycle/gojson.ts";

const tmp = mkdtempSync("/tmp/bunc-stats-test-");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string>): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

const V1_UNLIMITED = "9223372036854771712";

describe("cgroup v1", () => {
  const dirs = {
    memory: tree("v1/memory", {
      "memory.stat":
        "cache 8192\nrss 307200\ntotal_rss 307200\nhierarchical_memory_limit 9223372036854771712\n",
      "memory.usage_in_bytes": "745472\n",
      "memory.max_usage_in_bytes": "1000000\n",
      "memory.failcnt": "3\n",
      "memory.limit_in_bytes": `${V1_UNLIMITED}\n`,
      "memory.memsw.usage_in_bytes": "745472\n",
      "memory.memsw.max_usage_in_bytes": "1000000\n",
      "memory.memsw.failcnt": "0\n",
      "memory.memsw.limit_in_bytes": `${V1_UNLIMITED}\n`,
      // kmem.limit_in_bytes is gone from newer kernels; kmem.tcp has nothing in use.
      "memory.kmem.usage_in_bytes": "237568\n",
      "memory.kmem.max_usage_in_bytes": "303104\n",
      "memory.kmem.failcnt": "0\n",
      "memory.kmem.tcp.usage_in_bytes": "0\n",
      "memory.kmem.tcp.max_usage_in_bytes": "0\n",
      "memory.kmem.tcp.failcnt": "0\n",
      "memory.kmem.tcp.limit_in_bytes": "0\n",
      "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
    }),
    cpuacct: tree("v1/cpuacct", {
      "cpuacct.stat": "user 12\nsystem 3\n",
      "cpuacct.usage": "170034150\n",
      "cpuacct.usage_percpu": "100000000 70034150 \n",
      "cpuacct.usage_all": "cpu user system\n0 80000000 20000000\n1 50000000 20034150\n",
    }),
    cpu: tree("v1/cpu", {
      "cpu.stat": "nr_periods 10\nnr_throttled 2\nthrottled_time 5000\nnr_bursts 0\nburst_time 0\n",
    }),
    cpuset: tree("v1/cpuset", {
      "cpuset.cpus": "0-2,5\n",
      "cpuset.mems": "0\n",
      "cpuset.cpu_exclusive": "0\n",
      "cpuset.mem_hardwall": "0\n",
      "cpuset.mem_exclusive": "0\n",
      "cpuset.memory_migrate": "0\n",
      "cpuset.memory_spread_page": "0\n",
      "cpuset.memory_spread_slab": "0\n",
      "cpuset.memory_pressure": "0\n",
      "cpuset.sched_load_balance": "1\n",
      "cpuset.sched_relax_domain_level": "-1\n",
    }),
    pids: tree("v1/pids", { "pids.current": "3\n", "pids.max": "max\n" }),
    blkio: tree("v1/blkio", {
      // The BFQ files are there but empty, so runc falls through to the throttling counters.
      "blkio.bfq.io_serviced_recursive": "",
      "blkio.bfq.io_service_bytes_recursive": "",
      "blkio.throttle.io_serviced_recursive": "8:0 Read 124\n8:0 Write 104\n8:0 Total 228\nTotal 228\n",
      "blkio.throttle.io_service_bytes_recursive":
        "8:0 Read 1282048\n8:0 Write 0\n8:16 Total 1282048\nTotal 1282048\n",
    }),
    hugetlb: tree("v1/hugetlb", {
      "hugetlb.2MB.usage_in_bytes": "2097152\n",
      "hugetlb.2MB.max_usage_in_bytes": "4194304\n",
      "hugetlb.2MB.failcnt": "1\n",
    }),
  } as const;
  const src: StatsSource = {
    controllerDir: (name) => {
      const dir = (dirs as Record<string, string>)[name];
      return dir ? { dir, version: 1 } : undefined;
    },
    unified: undefined,
    hugePageSizes: ["2MB"],
  };

  test("every field from the file runc reads it from", () => {
    const s = readStats(src);
    expect(s.cpu).toEqual({
      usage: {
        total: 170034150n,
        percpu: [100000000n, 70034150n],
        percpu_kernel: [20000000n, 20034150n],
        percpu_user: [80000000n, 50000000n],
        // USER_HZ ticks as nanoseconds.
        kernel: 30000000n,
        user: 120000000n,
      },
      throttling: { periods: 10n, throttledPeriods: 2n, throttledTime: 5000n },
    });
    expect(s.cpuset).toEqual({
      cpus: [0, 1, 2, 5],
      cpu_exclusive: 0n,
      mems: [0],
      mem_hardwall: 0n,
      mem_exclusive: 0n,
      memory_migrate: 0n,
      memory_spread_page: 0n,
      memory_spread_slab: 0n,
      memory_pressure: 0n,
      sched_load_balance: 1n,
      sched_relax_domain_level: -1n,
    });
    expect(s.memory).toEqual({
      cache: 8192n,
      usage: { limit: 9223372036854771712n, usage: 745472n, max: 1000000n, failcnt: 3n },
      swap: { limit: 9223372036854771712n, usage: 745472n, max: 1000000n, failcnt: 0n },
      // No limit file: limit 0, kept (limit and failcnt are never omitted).
      kernel: { limit: 0n, usage: 237568n, max: 303104n, failcnt: 0n },
      // kernelTCP is all zero: left out, as Go's omitzero leaves it out.
      raw: {
        cache: 8192n,
        hierarchical_memory_limit: 9223372036854771712n,
        rss: 307200n,
        total_rss: 307200n,
      },
    });
    expect(s.pids).toEqual({ current: 3n }); // "max" is reported as no limit (0, omitted)
    expect(s.blkio).toEqual({
      ioServicedRecursive: [
        { major: 8n, op: "Read", value: 124n },
        { major: 8n, op: "Write", value: 104n },
        { major: 8n, op: "Total", value: 228n },
      ],
      ioServiceBytesRecursive: [
        { major: 8n, op: "Read", value: 1282048n },
        { major: 8n, op: "Write" },
        { major: 8n, minor: 16n, op: "Total", value: 1282048n },
      ],
    });
    expect(s.hugetlb).toEqual({ "2MB": { usage: 2097152n, max: 4194304n, failcnt: 1n } });
    expect(s.intel_rdt).toEqual({});
    expect(s.network_interfaces).toBeNull();
    expect(oomKillCount(src.controllerDir("memory"))).toBe(2n);
  });

  test("printed as runc prints it: field order, omitted zeros, u64 above 2^53 exact", () => {
    const line = eventLine("stats", "c1", readStats(src));
    expect(line.endsWith("}\n")).toBe(true);
    expect(line).toStartWith(
      '{"type":"stats","id":"c1","data":{"cpu":{"usage":{"total":170034150,"percpu":[100000000,70034150],',
    );
    expect(line).toContain(
      '"memory":{"cache":8192,"usage":{"limit":9223372036854771712,"usage":745472,"max":1000000,"failcnt":3},',
    );
    expect(line).toContain('"pids":{"current":3},');
    expect(line).toEndWith(
      '"hugetlb":{"2MB":{"usage":2097152,"max":4194304,"failcnt":1}},"intel_rdt":{},"network_interfaces":null}}\n',
    );
    // As a double it would print as 9223372036854772000.
    expect(String(Number(V1_UNLIMITED))).not.toBe(V1_UNLIMITED);
    expect(eventLine("oom", "c1")).toBe('{"type":"oom","id":"c1"}\n');
  });

  test("a controller the host does not have is left empty, not an error", () => {
    const s = readStats({ controllerDir: () => undefined, hugePageSizes: ["2MB"] });
    expect(s.cpu).toEqual({});
    expect(s.memory).toEqual({});
    expect(s.pids).toEqual({});
    expect(s.blkio).toEqual({});
    expect(s.hugetlb).toEqual({});
    expect(s.cpuset.cpus).toBeUndefined();
    expect(s.cpuset.sched_relax_domain_level).toBe(0n);
  });

  test("a malformed file is an error naming it", () => {
    const bad = tree("v1bad/memory", { "memory.stat": "cache lots\n" });
    expect(() =>
      readStats({ controllerDir: (n) => (n === "memory" ? { dir: bad, version: 1 } : undefined) }),
    ).toThrow(`unable to parse ${bad}/memory.stat`);
  });
});

describe("cgroup2", () => {
  const dir = tree("v2/c", {
    "cgroup.procs": "10\n11\n",
    "cpu.stat":
      "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 30\nnr_bursts 0\nburst_usec 0\n",
    "cpu.pressure":
      "some avg10=1.50 avg60=0.25 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
    "memory.stat": "anon 1000\nfile 4096\nkernel 512\n",
    "memory.current": "5120\n",
    "memory.max": "max\n",
    "memory.peak": "6000\n",
    "memory.swap.current": "100\n",
    "memory.swap.max": "max\n",
    "memory.events": "low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\n",
    "pids.current": "2\n",
    "pids.max": "100\n",
    "io.stat":
      "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n253:1 rbytes=0 wbytes=8192 rios=0 wios=2 dbytes=0 dios=0\n",
    "hugetlb.2MB.current": "0\n",
    "hugetlb.2MB.events": "max 4\n",
  });
  const withControllers = (names: readonly string[]): StatsSource => ({
    controllerDir: (name) => {
      const v2 = ({ cpuacct: "cpu", blkio: "io" } as Record<string, string>)[name] ?? name;
      return names.includes(v2) ? { dir, version: 2 } : undefined;
    },
    unified: dir,
    hugePageSizes: ["2MB"],
  });

  test("every field from the file runc's fs2 reads it from", () => {
    const s = readStats(withControllers(["cpu", "memory", "pids", "io", "hugetlb"]));
    expect(s.cpu).toEqual({
      usage: { total: 2500000n, kernel: 500000n, user: 2000000n },
      throttling: { periods: 4n, throttledPeriods: 1n, throttledTime: 30000n },
      psi: { some: { avg10: 1.5, avg60: 0.25, avg300: 0, total: 1234n } },
    });
    expect(s.memory).toEqual({
      cache: 4096n,
      usage: { limit: 18446744073709551615n, usage: 5120n, max: 6000n, failcnt: 0n },
      // memory + swap, as v1 reports it; "max" stays max.
      swap: { limit: 18446744073709551615n, usage: 5220n, failcnt: 0n },
      raw: { anon: 1000n, file: 4096n, kernel: 512n },
    });
    expect(s.pids).toEqual({ current: 2n, limit: 100n });
    expect(s.blkio).toEqual({
      ioServiceBytesRecursive: [
        { major: 8n, op: "Read", value: 4096n },
        { major: 8n, op: "Write" },
        { major: 253n, minor: 1n, op: "Read" },
        { major: 253n, minor: 1n, op: "Write", value: 8192n },
      ],
      ioServicedRecursive: [
        { major: 8n, op: "Read", value: 1n },
        { major: 8n, op: "Write" },
        { major: 253n, minor: 1n, op: "Read" },
        { major: 253n, minor: 1n, op: "Write", value: 2n },
      ],
    });
    expect(s.hugetlb).toEqual({ "2MB": { failcnt: 4n } });
    expect(s.cpuset.cpus).toBeUndefined(); // v1 only, as in runc
    expect(oomKillCount({ dir, version: 2 })).toBe(1n);
    const line = eventLine("stats", "x", s);
    expect(line).toContain('"usage":{"limit":18446744073709551615,"usage":5120,"max":6000,"failcnt":0}');
    expect(line).toContain('"psi":{"some":{"avg10":1.5,"avg60":0.25,"avg300":0,"total":1234}}');
  });

  test("without controllers: cpu usage from the core cpu.stat, pids from cgroup.procs", () => {
    const s = readStats(withControllers([]));
    expect(s.cpu.usage).toEqual({ total: 2500000n, kernel: 500000n, user: 2000000n });
    expect(s.pids).toEqual({ current: 2n });
    expect(s.memory).toEqual({});
    expect(s.hugetlb).toEqual({});
  });

  test("a swap limit adds the memory limit, wrapping as Go's u64 does", () => {
    const d = tree("v2/swap", {
      "memory.stat": "anon 0\n",
      "memory.current": "0\n",
      "memory.max": "max\n",
      "memory.swap.current": "0\n",
      "memory.swap.max": "1000\n",
    });
    const s = readStats({ controllerDir: (n) => (n === "memory" ? { dir: d, version: 2 } : undefined) });
    expect(s.memory.swap).toEqual({ limit: 999n, failcnt: 0n });
  });
});

test("huge page sizes are named as runc names them", () => {
  const d = tree("hugepages", {});
  for (const n of ["hugepages-2048kB", "hugepages-1048576kB", "hugepages-64kB", "other"])
    mkdirSync(join(d, n));
  expect(hostHugePageSizes(d).sort()).toEqual(["1GB", "2MB", "64KB"]);
});

test("Go JSON: bigints exact, undefined keys dropped, HTML characters escaped as Go escapes them", () => {
  expect(goJson({ a: 2n ** 64n - 1n, b: undefined, c: [1, -1n, "x<&>"], d: null })).toBe(
    '{"a":18446744073709551615,"c":[1,-1,"x\\u003c\\u0026\\u003e"],"d":null}',
  );
  expect(goJson(9007199254740993n)).toBe("9007199254740993");
});

describe("Go durations", () => {
  test("accepted forms", () => {
    expect(parseDuration("5s")).toBe(5_000_000_000n);
    expect(parseDuration("100ms")).toBe(100_000_000n);
    expect(parseDuration("1m30s")).toBe(90_000_000_000n);
    expect(parseDuration("1.5h")).toBe(5_400_000_000_000n);
    expect(parseDuration("2h45m0.5s")).toBe(9_900_500_000_000n);
    expect(parseDuration(".5us")).toBe(500n);
    expect(parseDuration("1µs")).toBe(1000n);
    expect(parseDuration("1μs")).toBe(1000n);
    expect(parseDuration("10ns")).toBe(10n);
    expect(parseDuration("0")).toBe(0n);
    expect(parseDuration("-1s")).toBe(-1_000_000_000n);
    expect(parseDuration("+3m")).toBe(180_000_000_000n);
  });

  test("refused as Go refuses them", () => {
    expect(() => parseDuration("")).toThrow('time: invalid duration ""');
    expect(() => parseDuration("5")).toThrow('time: missing unit in duration "5"');
    expect(() => parseDuration("5x")).toThrow('time: unknown unit "x" in duration "5x"');
    expect(() => parseDuration("s")).toThrow('time: invalid duration "s"');
    expect(() => parseDuration(".s")).toThrow('time: invalid duration ".s"');
    expect(() => parseDuration("1S")).toThrow('time: unknown unit "S"');
    expect(() => parseDuration("3000000h")).toThrow('time: invalid duration "3000000h"');
  });
});
