// linux.resources without root: the v1-to-v2 conversions, each controller's
// translation, placement on v1, cgroup2 and hybrid layouts, and the writes
// made into a fake cgroupfs (the controllers this host does not give to
// cgroup2 cannot be tried on the real one).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Cgroup } from "../../src/cgroups/cgroup.ts";
import { blkioWeightToIoWeight, cpuSharesToWeight, memorySwapToV2 } from "../../src/cgroups/convert.ts";
import type { Hierarchy } from "../../src/cgroups/hierarchy.ts";
import { applyPlaced, type Host, placeResources, roomForInit } from "../../src/cgroups/resources.ts";
import { CONTROLLERS } from "../../src/cgroups/settings.ts";
import { parseBytes, resourcesFromFlags } from "../../src/cli/updateFlags.ts";
import { mergeResources } from "../../src/lifecycle/update.ts";
import type { Resources } from "../../src/oci/config.ts";
import { parseExactJson, stringifyExact } from "../../src/oci/exactJson.ts";

describe("v1 to v2 conversions", () => {
  test("cpu.shares to cpu.weight: 10^((l² + 125l)/612 − 7/34), l = log2(shares), rounded up", () => {
    expect(cpuSharesToWeight(0)).toBe(0);
    expect(cpuSharesToWeight(2)).toBe(1);
    expect(cpuSharesToWeight(1024)).toBe(100);
    expect(cpuSharesToWeight(262144)).toBe(10000);
    expect(cpuSharesToWeight(512)).toBe(Math.ceil(10 ** ((81 + 125 * 9) / 612 - 7 / 34)));
    expect(cpuSharesToWeight(512)).toBe(59);
    expect(cpuSharesToWeight(2048)).toBe(174);
    expect(cpuSharesToWeight(1_000_000)).toBe(10000);
  });

  test("blkio.weight to io.weight: 1 + (w − 10)·9999/990", () => {
    expect(blkioWeightToIoWeight(0)).toBe(0);
    expect(blkioWeightToIoWeight(10)).toBe(1);
    expect(blkioWeightToIoWeight(500)).toBe(1 + Math.floor((490 * 9999) / 990));
    expect(blkioWeightToIoWeight(1000)).toBe(10000);
  });

  test("memory + swap to memory.swap.max: swap − limit; -1 is max; 0 unset", () => {
    expect(memorySwapToV2(96n, 64n)).toBe(32n);
    expect(memorySwapToV2(64n, 64n)).toBe(0n);
    expect(memorySwapToV2(-1n, 64n)).toBe(-1n);
    expect(memorySwapToV2(0n, 64n)).toBeUndefined();
    expect(memorySwapToV2(0n, -1n)).toBe(-1n);
    expect(memorySwapToV2(100n, -1n)).toBe(100n);
    expect(() => memorySwapToV2(100n, 0n)).toThrow("a swap limit needs a memory limit");
    expect(() => memorySwapToV2(32n, 64n)).toThrow("memory + swap must be at least the memory limit");
  });
});

const files = (name: string, version: 1 | 2, r: Resources) => {
  const c = CONTROLLERS[name];
  const t = version === 1 ? c?.v1 : c?.v2;
  return Object.fromEntries((t?.(r) ?? []).map((s) => [s.file, s.value]));
};

describe("translations", () => {
  test("memory on v1 and v2", () => {
    const r: Resources = { memory: { limit: 64, swap: 96, reservation: 32 } };
    expect(files("memory", 1, r)).toEqual({
      "memory.limit_in_bytes": "64",
      "memory.memsw.limit_in_bytes": "96",
      "memory.soft_limit_in_bytes": "32",
    });
    expect(files("memory", 2, r)).toEqual({
      "memory.max": "64",
      "memory.swap.max": "32",
      "memory.low": "32",
    });
    expect(files("memory", 2, { memory: { limit: -1 } })).toEqual({
      "memory.max": "max",
      "memory.swap.max": "max",
    });
    expect(files("memory", 1, { memory: { limit: 18446744073709551615n as never } })).toEqual({
      "memory.limit_in_bytes": "18446744073709551615",
    });
  });

  test("values cgroup2 cannot express are refused by field", () => {
    const cases: [Resources, string][] = [
      [
        { memory: { kernel: 1 << 20 } },
        "linux.resources.memory.kernel: cgroup2 has no separate kernel memory limit",
      ],
      [
        { memory: { swappiness: 10 } },
        "linux.resources.memory.swappiness: cgroup2 has no per-cgroup swappiness",
      ],
      [{ memory: { disableOOMKiller: true } }, "linux.resources.memory.disableOOMKiller: "],
      [{ cpu: { realtimeRuntime: 1000 } }, "linux.resources.cpu.realtimeRuntime: cgroup2 has no realtime"],
      [{ blockIO: { leafWeight: 100 } }, "linux.resources.blockIO.leafWeight: cgroup2 has no leaf weights"],
      [{ memory: { swap: 10, limit: 0 } }, "linux.resources.memory.swap: a swap limit needs a memory limit"],
    ];
    for (const [r, message] of cases) {
      const c = Object.keys(r)[0] === "blockIO" ? "blkio" : (Object.keys(r)[0] as string);
      expect(() => CONTROLLERS[c]?.v2?.(r)).toThrow(message);
    }
  });

  test("cpu on v1 and v2", () => {
    const r: Resources = { cpu: { shares: 512, quota: 50000, period: 200000, burst: 1000, idle: 1 } };
    expect(files("cpu", 1, r)).toEqual({
      "cpu.shares": "512",
      "cpu.cfs_quota_us": "50000",
      "cpu.cfs_period_us": "200000",
      "cpu.cfs_burst_us": "1000",
      "cpu.idle": "1",
    });
    expect(files("cpu", 2, r)).toEqual({
      "cpu.weight": "59",
      "cpu.max": "50000 200000",
      "cpu.max.burst": "1000",
      "cpu.idle": "1",
    });
    expect(files("cpu", 2, { cpu: { quota: -1 } })).toEqual({ "cpu.max": "max 100000" });
    expect(() => CONTROLLERS.cpu?.v1({ cpu: { shares: 1 } })).toThrow(
      "linux.resources.cpu.shares: must be from 2 to 262144",
    );
  });

  test("blkio on v1, io on v2 (BFQ's weight first, io.weight converted as the fallback)", () => {
    const r: Resources = {
      blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }] },
    };
    const v2 = CONTROLLERS.blkio?.v2?.(r) ?? [];
    expect(v2).toContainEqual(
      expect.objectContaining({
        file: "io.bfq.weight",
        value: "500",
        alt: { file: "io.weight", value: "4950" },
      }),
    );
    expect(v2).toContainEqual(expect.objectContaining({ file: "io.max", value: "8:0 rbps=1000" }));
    expect(files("blkio", 1, r)).toEqual({
      "blkio.weight": "500",
      "blkio.throttle.read_bps_device": "8:0 1000",
    });
  });

  test("pids, hugetlb, network, rdma", () => {
    expect(files("pids", 2, { pids: { limit: 0 } })).toEqual({ "pids.max": "max" });
    expect(files("pids", 1, { pids: { limit: 7 } })).toEqual({ "pids.max": "7" });
    const huge: Resources = { hugepageLimits: [{ pageSize: "2MB", limit: 4096 }] };
    expect(files("hugetlb", 1, huge)).toEqual({ "hugetlb.2MB.limit_in_bytes": "4096" });
    expect(files("hugetlb", 2, huge)).toEqual({ "hugetlb.2MB.max": "4096" });
    expect(files("net_cls", 1, { network: { classID: 0x100001 } })).toEqual({ "net_cls.classid": "1048577" });
    expect(files("net_prio", 1, { network: { priorities: [{ name: "eth0", priority: 5 }] } })).toEqual({
      "net_prio.ifpriomap": "eth0 5",
    });
    expect(files("rdma", 2, { rdma: { mlx5_0: { hcaHandles: 3, hcaObjects: 1000 } } })).toEqual({
      "rdma.max": "mlx5_0 hca_handle=3 hca_object=1000",
    });
  });
});

// A fake cgroupfs: a cgroup2 root that has every controller (as a pure v2
// host has), and v1 hierarchies for some.
const fake = mkdtempSync("/tmp/bunc-unit-cgfs-");
afterAll(() => rmSync(fake, { recursive: true, force: true }));

function fakeV2(name: string, controllers: string): Hierarchy {
  const mountpoint = join(fake, name);
  mkdirSync(mountpoint, { recursive: true });
  writeFileSync(join(mountpoint, "cgroup.controllers"), controllers);
  writeFileSync(join(mountpoint, "cgroup.subtree_control"), "");
  return { version: 2, mountpoint, mountRoot: "/", controllers: [], ownPath: "/" };
}

function fakeV1(name: string): Hierarchy {
  const mountpoint = join(fake, name);
  mkdirSync(mountpoint, { recursive: true });
  return { version: 1, mountpoint, mountRoot: "/", controllers: [name], ownPath: "/" };
}

/** The writes, as they would reach the kernel, by file. */
function recorded(cg: Cgroup, r: Resources): Record<string, string[]> {
  const host = (cg as unknown as { host(): Host }).host();
  const out: Record<string, string[]> = {};
  applyPlaced(placeResources(r, host), (path, value) => {
    const key = path.slice(fake.length + 1);
    out[key] = [...(out[key] ?? []), value];
  });
  return out;
}

describe("placement", () => {
  const all = "cpuset cpu io memory hugetlb pids rdma";

  test("a pure cgroup2 host: every controller on the cgroup2 directory, with v2 names and values", () => {
    const cg = Cgroup.plan("c1", "/pod/c1", [fakeV2("v2", all)]);
    const w = recorded(cg, {
      memory: { limit: 512 * 1024, swap: 1 << 20 },
      cpu: { shares: 1024, cpus: "0-1" },
      pids: { limit: 1 },
      blockIO: { weight: 100 },
      hugepageLimits: [{ pageSize: "2MB", limit: 2 << 20 }],
      rdma: { mlx5_0: { hcaHandles: 1 } },
      unified: { "memory.high": "400000", "cgroup.max.depth": "2" },
    });
    expect(w).toEqual({
      "v2/pod/c1/cpuset.cpus": ["0-1"],
      "v2/pod/c1/memory.swap.max": [String((1 << 20) - 512 * 1024)],
      "v2/pod/c1/memory.max": ["524288"],
      "v2/pod/c1/cpu.weight": ["100"],
      "v2/pod/c1/pids.max": ["1"],
      "v2/pod/c1/io.bfq.weight": ["100"],
      "v2/pod/c1/hugetlb.2MB.max": ["2097152"],
      "v2/pod/c1/rdma.max": ["mlx5_0 hca_handle=1"],
      "v2/pod/c1/memory.high": ["400000"],
      "v2/pod/c1/cgroup.max.depth": ["2"],
    });
  });

  test("a v1 controller the host lacks is refused unless the value is the default", () => {
    const cg = Cgroup.plan("c2", "/c2", [fakeV1("memory")]);
    expect(() => recorded(cg, { pids: { limit: 2048 } })).toThrow(
      "linux.resources.pids.limit: this host has no pids cgroup controller",
    );
    expect(recorded(cg, { pids: { limit: -1 }, memory: { limit: 1000 } })).toEqual({
      "memory/c2/memory.limit_in_bytes": ["1000"],
    });
    expect(() => recorded(cg, { unified: { "memory.high": "1" } })).toThrow(
      'linux.resources.unified["memory.high"]: this host has no cgroup2 hierarchy',
    );
  });

  test("hybrid: v1 answers for what it mounts, cgroup2 for the rest", () => {
    const cg = Cgroup.plan("c3", "/c3", [fakeV2("hy-v2", "hugetlb"), fakeV1("hy-memory")]);
    // The fake v1 hierarchy is named after its directory; the memory controller sits in "hy-memory".
    const w = recorded(cg, { hugepageLimits: [{ pageSize: "1GB", limit: 0 }] });
    expect(w).toEqual({ "hy-v2/c3/hugetlb.1GB.max": ["0"] });
    expect(() => recorded(cg, { cpu: { shares: 10 } })).toThrow(
      "linux.resources.cpu.shares: this host has no cpu cgroup controller (cgroup2 has none, and no cgroup v1 hierarchy mounts it)",
    );
  });

  test("create enables the cgroup2 controllers on the way down, from the nearest parent that has them", () => {
    const h = fakeV2("deleg", "memory pids cpu");
    const cg = Cgroup.plan("c4", "/a/b/c4", [h]);
    cg.planResources({ memory: { limit: 1 << 20 }, pids: { limit: 5 } });
    cg.create(2);
    expect(readFileSync(join(h.mountpoint, "cgroup.subtree_control"), "utf8")).toBe("+memory +pids");
    // Tiny limits: the init joins late; roomy ones: it starts inside.
    expect(cg.joinPlan(false)).toEqual({
      late: [join(h.mountpoint, "a/b/c4/cgroup.procs")],
      startIn: null,
      early: false,
    });
    expect(cg.joinPlan(true)).toEqual({ late: [], startIn: join(h.mountpoint, "a/b/c4"), early: false });
  });

  test("room for the init: memory and pids limits below what a waiting Bun process needs keep the join late", () => {
    expect(roomForInit(undefined)).toBe(true);
    expect(roomForInit({ memory: { limit: 1 << 30 }, pids: { limit: 2048 } })).toBe(true);
    expect(roomForInit({ memory: { limit: -1 }, pids: { limit: -1 } })).toBe(true);
    expect(roomForInit({ memory: { limit: 512 * 1024 } })).toBe(false);
    expect(roomForInit({ pids: { limit: 1 } })).toBe(false);
    expect(roomForInit({ unified: { "memory.max": "1000000" } })).toBe(false);
    expect(roomForInit({ unified: { "memory.max": "max" } })).toBe(true);
  });

  test("interdependent values are written again once the rest is in (EINVAL first)", () => {
    const order: string[] = [];
    let limitRefused = false;
    const placed = placeResources(
      { memory: { limit: 200, swap: 300 } },
      { locate: () => ({ dir: "/x", version: 1 }), missing: () => "", v2Dir: undefined },
    );
    applyPlaced(placed, (path, value) => {
      if (path.endsWith("memory.limit_in_bytes") && !limitRefused) {
        limitRefused = true;
        throw Object.assign(new Error("EINVAL"), { code: "EINVAL" });
      }
      order.push(`${path.split("/").pop()}=${value}`);
    });
    expect(order).toEqual(["memory.memsw.limit_in_bytes=300", "memory.limit_in_bytes=200"]);
  });
});

describe("update input", () => {
  test("a change merges into the resources the container has, group by group", () => {
    const base: Resources = { memory: { limit: 100, swap: 200 }, cpu: { shares: 512 }, pids: { limit: 10 } };
    expect(mergeResources(base, { memory: { limit: 150 }, cpu: { quota: 1000 } })).toEqual({
      memory: { limit: 150, swap: 200 },
      cpu: { shares: 512, quota: 1000 },
      pids: { limit: 10 },
    });
  });

  test("sizes as runc reads them", () => {
    expect(parseBytes("memory", "512")).toBe(512n);
    expect(parseBytes("memory", "64k")).toBe(65536n);
    expect(parseBytes("memory", "128m")).toBe(134217728n);
    expect(parseBytes("memory", "1.5g")).toBe(1610612736n);
    expect(parseBytes("memory", "2GiB")).toBe(2147483648n);
    expect(parseBytes("memory", "-1")).toBe(-1n);
    expect(() => parseBytes("memory", "12q")).toThrow('--memory: "12q" is not a size');
  });

  test("flags become linux.resources, checked by the same schema", () => {
    const { resources, given } = resourcesFromFlags({
      memory: "1m",
      "cpu-share": "100",
      "cpuset-cpus": "0-1",
    });
    expect(resources).toEqual({ memory: { limit: 1048576n as never }, cpu: { shares: 100, cpus: "0-1" } });
    expect(given.sort()).toEqual(["cpu-share", "cpuset-cpus", "memory"]);
    expect(() => resourcesFromFlags({ "cpuset-cpus": "x" })).toThrow(
      '--cpuset-cpus: must be a list like "0-3,5"',
    );
  });
});

test("exact JSON: 64-bit integers survive a round trip", () => {
  const text = stringifyExact({ limit: 18446744073709551615n, low: -9223372036854775808n, n: 1 });
  expect(text).toBe('{"limit":18446744073709551615,"low":-9223372036854775808,"n":1}');
  expect(parseExactJson(text)).toEqual({ limit: 18446744073709551615n, low: -9223372036854775808n, n: 1 });
});
