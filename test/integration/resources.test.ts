// linux.resources on this host's cgroups (the hybrid layout: v1 controllers,
// cgroup2 holding only what v1 does not mount): each value checked in the
// cgroup files from outside and, where it shows, from inside.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import type { Config } from "../../src/oci/config.ts";
import { runIn, useTestEnv } from "./harness.ts";

const env = useTestEnv();

const read = (file: string) => readFileSync(file, "utf8").trim();

/** The container's directory in the hierarchy mounted at /sys/fs/cgroup/<name>. */
const dirIn = (id: string, name: string) => `/sys/fs/cgroup/${name}${env.cgroupParent}/${id}`;

function withResources(r: NonNullable<NonNullable<Config["linux"]>["resources"]>) {
  return (c: Config) => {
    c.linux = { ...c.linux, resources: { ...c.linux?.resources, ...r } };
  };
}

const made: string[] = [];
afterEach(() => {
  for (const id of made.splice(0)) env.ok(["delete", "--force", id]);
});

/** A created container with these resources, deleted after the test; its id. */
function created(r: Parameters<typeof withResources>[0], args = ["sleep", "100"]): string {
  const id = env.id("res");
  env.ok(["create", "--bundle", env.bundle(id, args, withResources(r)), id]);
  made.push(id);
  return id;
}

// The block device the root filesystem is on, for the throttle rules.
const rootDev = () => {
  const d = statSync("/").dev;
  return { major: Math.floor(d / 256) & 0xfff, minor: (d & 0xff) | ((d >> 12) & 0xfff00) };
};

describe("linux.resources", () => {
  test("tiny limits: 512 KiB of memory and one pid still run /bin/true", () => {
    const r = runIn(env, ["true"], withResources({ memory: { limit: 512 * 1024 }, pids: { limit: 1 } }));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  test("memory: limit, swap, reservation, swappiness, kernelTCP, OOM killer, in the v1 files", () => {
    const id = created({
      memory: {
        limit: 64 << 20,
        swap: 96 << 20,
        reservation: 32 << 20,
        swappiness: 10,
        kernelTCP: 16 << 20,
        disableOOMKiller: true,
        useHierarchy: true,
      },
    });
    const d = dirIn(id, "memory");
    expect(read(`${d}/memory.limit_in_bytes`)).toBe(String(64 << 20));
    expect(read(`${d}/memory.memsw.limit_in_bytes`)).toBe(String(96 << 20));
    expect(read(`${d}/memory.soft_limit_in_bytes`)).toBe(String(32 << 20));
    expect(read(`${d}/memory.swappiness`)).toBe("10");
    expect(read(`${d}/memory.kmem.tcp.limit_in_bytes`)).toBe(String(16 << 20));
    expect(read(`${d}/memory.oom_control`)).toContain("oom_kill_disable 1");
    expect(read(`${d}/memory.use_hierarchy`)).toBe("1");
  });

  test("an allocation past the memory limit is OOM-killed inside the container", () => {
    const r = runIn(
      env,
      ["sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo status $?"],
      withResources({ memory: { limit: 16 << 20, swap: 16 << 20 } }),
    );
    expect(r.stdout.trim()).toBe("status 137");
    expect(r.code).toBe(0);
  });

  test("cpu: shares, quota, period, burst, idle, realtime, and the cpuset inside", () => {
    const id = created(
      {
        cpu: {
          shares: 512,
          quota: 50000,
          period: 200000,
          burst: 10000,
          idle: 0,
          realtimePeriod: 1000000,
          realtimeRuntime: 0,
          cpus: "0",
          mems: "0",
        },
      },
      ["sh", "-c", "grep Cpus_allowed_list /proc/self/status"],
    );
    const d = dirIn(id, "cpu");
    expect(read(`${d}/cpu.shares`)).toBe("512");
    expect(read(`${d}/cpu.cfs_quota_us`)).toBe("50000");
    expect(read(`${d}/cpu.cfs_period_us`)).toBe("200000");
    expect(read(`${d}/cpu.cfs_burst_us`)).toBe("10000");
    expect(read(`${d}/cpu.idle`)).toBe("0");
    expect(read(`${d}/cpu.rt_period_us`)).toBe("1000000");
    expect(read(`${dirIn(id, "cpuset")}/cpuset.cpus`)).toBe("0");
    expect(read(`${dirIn(id, "cpuset")}/cpuset.mems`)).toBe("0");
    env.ok(["start", id]);
  });

  test("the cpuset shows in /proc/self/status", () => {
    const r = runIn(
      env,
      ["grep", "Cpus_allowed_list", "/proc/self/status"],
      withResources({ cpu: { cpus: "1" } }),
    );
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("Cpus_allowed_list:\t1");
  });

  test("pids: a fork past the limit is refused", () => {
    const r = runIn(
      env,
      ["sh", "-c", "true & wait; echo forked; true & wait; echo $?"],
      withResources({ pids: { limit: 1 } }),
    );
    // The shell itself is the one pid: its first fork already fails.
    expect(r.stdout).not.toContain("forked");
    expect(r.stderr).toContain("fork");
  });

  test("pids.limit: the number, and max for zero or below", () => {
    const a = created({ pids: { limit: 42 } });
    expect(read(`${dirIn(a, "pids")}/pids.max`)).toBe("42");
    const b = created({ pids: { limit: -1 } });
    expect(read(`${dirIn(b, "pids")}/pids.max`)).toBe("max");
  });

  test("blockIO: throttles per device", () => {
    const { major, minor } = rootDev();
    const id = created({
      blockIO: {
        throttleReadBpsDevice: [{ major, minor, rate: 1048576 }],
        throttleWriteBpsDevice: [{ major, minor, rate: 2097152 }],
        throttleReadIOPSDevice: [{ major, minor, rate: 100 }],
        throttleWriteIOPSDevice: [{ major, minor, rate: 200 }],
      },
    });
    const d = dirIn(id, "blkio");
    expect(read(`${d}/blkio.throttle.read_bps_device`)).toBe(`${major}:${minor} 1048576`);
    expect(read(`${d}/blkio.throttle.write_bps_device`)).toBe(`${major}:${minor} 2097152`);
    expect(read(`${d}/blkio.throttle.read_iops_device`)).toBe(`${major}:${minor} 100`);
    expect(read(`${d}/blkio.throttle.write_iops_device`)).toBe(`${major}:${minor} 200`);
  });

  test("blockIO: weights go to BFQ's files where CFQ's are gone; leaf weights are refused by name", () => {
    const { major, minor } = rootDev();
    const id = created({ blockIO: { weight: 500 } });
    const d = dirIn(id, "blkio");
    expect(existsSync(`${d}/blkio.weight`)).toBe(false);
    expect(read(`${d}/blkio.bfq.weight`)).toBe("500");
    // A device's own BFQ weight needs BFQ as that device's scheduler, which the root disk here does not use.
    if (!readFileSync(`/sys/dev/block/${major}:${minor}/queue/scheduler`, "utf8").includes("[bfq]")) {
      const id3 = env.id("res");
      const bundle = env.bundle(
        id3,
        ["true"],
        withResources({ blockIO: { weightDevice: [{ major, minor, weight: 300 }] } }),
      );
      expect(env.bunc(["create", "--bundle", bundle, id3]).stderr).toBe(
        `bunc: linux.resources.blockIO.weightDevice[0].weight: the kernel refused "${major}:${minor} 300" for blkio.bfq.weight_device (ENOTSUP: not supported by this kernel or device)\n`,
      );
    }
    const id2 = env.id("res");
    const r = env.bunc([
      "create",
      "--bundle",
      env.bundle(id2, ["true"], withResources({ blockIO: { leafWeight: 500 } })),
      id2,
    ]);
    expect(r.stderr).toBe(
      "bunc: linux.resources.blockIO.leafWeight: this kernel's blkio controller has no blkio.leaf_weight\n",
    );
    expect(r.code).toBe(1);
    expect(existsSync(`${env.root}/${id2}`)).toBe(false);
    for (const dir of env.cgroupDirs(id2)) expect(existsSync(dir)).toBe(false);
  });

  test("unified: cgroup2 core files are written to the container's cgroup2 directory", () => {
    const id = created({ unified: { "cgroup.max.descendants": "3", "cgroup.max.depth": "1" } });
    const d = dirIn(id, "unified");
    expect(read(`${d}/cgroup.max.descendants`)).toBe("3");
    expect(read(`${d}/cgroup.max.depth`)).toBe("1");
  });

  test("docker's zero values ask for nothing", () => {
    const r = runIn(
      env,
      ["true"],
      withResources({ memory: { disableOOMKiller: false }, cpu: { shares: 0 }, blockIO: { weight: 0 } }),
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  const refusals: [string, Parameters<typeof withResources>[0], string][] = [
    [
      "a controller the host lacks (network classID: no net_cls here)",
      { network: { classID: 0x100001 } },
      "linux.resources.network.classID: this host has no net_cls cgroup controller",
    ],
    [
      "rdma without an rdma controller",
      { rdma: { mlx5_0: { hcaHandles: 3 } } },
      'linux.resources.rdma["mlx5_0"]: this host has no rdma cgroup controller',
    ],
    [
      "hugetlb on a cgroup2 that does not delegate it here",
      { hugepageLimits: [{ pageSize: "2MB", limit: 4 << 20 }] },
      "linux.resources.hugepageLimits[0]: ",
    ],
    [
      "unified keys for a controller that is on v1",
      { unified: { "memory.high": "1000000" } },
      'linux.resources.unified["memory.high"]: the memory controller is on cgroup v1 on this host',
    ],
    [
      "unified files that are not resources",
      { unified: { "cgroup.procs": "1" } },
      'linux.resources.unified["cgroup.procs"]: cgroup.procs is not a resource setting',
    ],
    [
      "a v1 value the kernel refuses",
      { memory: { useHierarchy: false } },
      'linux.resources.memory.useHierarchy: the kernel refused "0" for memory.use_hierarchy',
    ],
  ];
  for (const [what, resources, message] of refusals) {
    test(`refused by name, nothing left behind: ${what}`, () => {
      const id = env.id("res");
      const r = env.bunc(["create", "--bundle", env.bundle(id, ["true"], withResources(resources)), id]);
      expect(r.code).toBe(1);
      expect(r.stderr.split("\n")).toHaveLength(2);
      expect(r.stderr).toStartWith(`bunc: ${message}`);
      expect(existsSync(`${env.root}/${id}`)).toBe(false);
      for (const d of env.cgroupDirs(id)) expect(existsSync(d)).toBe(false);
    });
  }

  test("absent controllers are fine when the value asked for is the default", () => {
    const r = runIn(
      env,
      ["true"],
      withResources({
        network: { classID: 0 },
        hugepageLimits: [{ pageSize: "2MB", limit: 0xffffffffffffffffn }],
      }),
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});
