// linux.resources as cgroup file writes, one translation per controller for
// each cgroup version. Pure: which hierarchy answers for a controller is
// decided by the caller (resources.ts), and nothing is written here.
import type { Resources } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";
import { blkioWeightToIoWeight, cpuSharesToWeight, memorySwapToV2 } from "./convert.ts";

export interface Setting {
  /** The config field it comes from, for errors. */
  readonly field: string;
  /** File name in the controller's directory. */
  readonly file: string;
  readonly value: string;
  /** What a new cgroup has anyway: nothing to do where the controller or file is missing. */
  readonly isDefault?: boolean;
  /**
   * The kernel may refuse it (EINVAL) until a later setting of the same
   * controller is in: interdependent values such as a memory limit and
   * memory+swap, or a CFS period and quota. Written again after the rest.
   */
  readonly retry?: boolean;
  /** Written instead where the kernel has no such file (blkio weights without BFQ). */
  readonly alt?: { readonly file: string; readonly value: string };
}

export type Translate = (r: Resources) => Setting[];

type Num = number | bigint;
const text = (n: Num) => String(n);
const big = (n: Num | undefined | null) => BigInt(n ?? 0);

const memoryField = (k: string) => `linux.resources.memory.${k}`;
const cpuField = (k: string) => `linux.resources.cpu.${k}`;
const blkioField = (k: string) => `linux.resources.blockIO.${k}`;

/** A u64 read as the spec's -1 (runc's "unset" swappiness). */
const U64_MAX = 0xffffffffffffffffn;

function memoryV1(r: Resources): Setting[] {
  const m = r.memory;
  if (!m) return [];
  const out: Setting[] = [];
  const limit = big(m.limit);
  // An unlimited memory with swap unset means unlimited swap too (runc).
  const swap = limit === -1n && big(m.swap) === 0n ? -1n : big(m.swap);
  if (limit !== 0n) {
    out.push({
      field: memoryField("limit"),
      file: "memory.limit_in_bytes",
      value: text(limit),
      isDefault: limit === -1n,
      retry: true,
    });
  }
  if (swap !== 0n) {
    out.push({
      field: memoryField("swap"),
      file: "memory.memsw.limit_in_bytes",
      value: text(swap),
      isDefault: swap === -1n,
      retry: true,
    });
  }
  const simple: [keyof typeof m, string][] = [
    ["reservation", "memory.soft_limit_in_bytes"],
    ["kernel", "memory.kmem.limit_in_bytes"],
    ["kernelTCP", "memory.kmem.tcp.limit_in_bytes"],
  ];
  for (const [key, file] of simple) {
    const n = big(m[key] as Num | undefined);
    if (n !== 0n) out.push({ field: memoryField(key), file, value: text(n), isDefault: n === -1n });
  }
  if (m.swappiness !== undefined && big(m.swappiness) !== U64_MAX) {
    out.push({ field: memoryField("swappiness"), file: "memory.swappiness", value: text(m.swappiness) });
  }
  if (m.disableOOMKiller !== undefined) {
    out.push({
      field: memoryField("disableOOMKiller"),
      file: "memory.oom_control",
      value: m.disableOOMKiller ? "1" : "0",
      isDefault: !m.disableOOMKiller,
    });
  }
  if (m.useHierarchy !== undefined) {
    out.push({
      field: memoryField("useHierarchy"),
      file: "memory.use_hierarchy",
      value: m.useHierarchy ? "1" : "0",
      isDefault: m.useHierarchy,
    });
  }
  return out;
}

/** -1 is cgroup2's "max". */
const v2Limit = (n: bigint) => (n === -1n ? "max" : text(n));

function memoryV2(r: Resources): Setting[] {
  const m = r.memory;
  if (!m) return [];
  const out: Setting[] = [];
  const limit = big(m.limit);
  let swap: bigint | undefined;
  try {
    swap = memorySwapToV2(big(m.swap), limit);
  } catch (e) {
    throw new ConfigError(memoryField("swap"), (e as Error).message);
  }
  if (swap !== undefined) {
    // Without swap accounting there is no memory.swap.max; no swap and unlimited swap are then what the host has.
    out.push({
      field: memoryField("swap"),
      file: "memory.swap.max",
      value: v2Limit(swap),
      isDefault: swap === -1n || swap === 0n,
    });
  }
  if (limit !== 0n)
    out.push({
      field: memoryField("limit"),
      file: "memory.max",
      value: v2Limit(limit),
      isDefault: limit === -1n,
    });
  const reservation = big(m.reservation);
  if (reservation !== 0n)
    out.push({ field: memoryField("reservation"), file: "memory.low", value: v2Limit(reservation) });
  for (const key of ["kernel", "kernelTCP"] as const) {
    const n = big(m[key]);
    if (n !== 0n && n !== -1n)
      throw new ConfigError(
        memoryField(key),
        "cgroup2 has no separate kernel memory limit (kernel memory counts against memory.max)",
      );
  }
  if (m.swappiness !== undefined && big(m.swappiness) !== U64_MAX)
    throw new ConfigError(memoryField("swappiness"), "cgroup2 has no per-cgroup swappiness");
  if (m.disableOOMKiller)
    throw new ConfigError(
      memoryField("disableOOMKiller"),
      "cgroup2 cannot turn off the OOM killer for a cgroup",
    );
  if (m.useHierarchy === false)
    throw new ConfigError(memoryField("useHierarchy"), "cgroup2 is always hierarchical");
  return out;
}

function checkShares(shares: bigint): void {
  if (shares !== 0n && (shares < 2n || shares > 262144n))
    throw new ConfigError(cpuField("shares"), "must be from 2 to 262144 (0 leaves it unset)");
}

function cpuV1(r: Resources): Setting[] {
  const c = r.cpu;
  if (!c) return [];
  const out: Setting[] = [];
  const shares = big(c.shares);
  checkShares(shares);
  if (shares !== 0n)
    out.push({
      field: cpuField("shares"),
      file: "cpu.shares",
      value: text(shares),
      isDefault: shares === 1024n,
    });
  // A period or burst the current quota does not allow is retried once the new quota is in.
  const period = big(c.period);
  if (period !== 0n)
    out.push({
      field: cpuField("period"),
      file: "cpu.cfs_period_us",
      value: text(period),
      isDefault: period === 100000n,
      retry: true,
    });
  if (c.burst !== undefined)
    out.push({
      field: cpuField("burst"),
      file: "cpu.cfs_burst_us",
      value: text(c.burst),
      isDefault: big(c.burst) === 0n,
      retry: true,
    });
  const quota = big(c.quota);
  if (quota !== 0n)
    out.push({
      field: cpuField("quota"),
      file: "cpu.cfs_quota_us",
      value: text(quota),
      isDefault: quota < 0n,
    });
  if (c.idle !== undefined)
    out.push({ field: cpuField("idle"), file: "cpu.idle", value: text(c.idle), isDefault: c.idle === 0 });
  const rtPeriod = big(c.realtimePeriod);
  if (rtPeriod !== 0n)
    out.push({
      field: cpuField("realtimePeriod"),
      file: "cpu.rt_period_us",
      value: text(rtPeriod),
      retry: true,
    });
  const rtRuntime = big(c.realtimeRuntime);
  if (rtRuntime !== 0n)
    out.push({ field: cpuField("realtimeRuntime"), file: "cpu.rt_runtime_us", value: text(rtRuntime) });
  return out;
}

function cpuV2(r: Resources): Setting[] {
  const c = r.cpu;
  if (!c) return [];
  const out: Setting[] = [];
  if (c.idle !== undefined)
    out.push({ field: cpuField("idle"), file: "cpu.idle", value: text(c.idle), isDefault: c.idle === 0 });
  const shares = big(c.shares);
  checkShares(shares);
  if (shares !== 0n) {
    const weight = cpuSharesToWeight(Number(shares));
    out.push({
      field: cpuField("shares"),
      file: "cpu.weight",
      value: text(weight),
      isDefault: weight === 100,
    });
  }
  if (c.burst !== undefined)
    out.push({
      field: cpuField("burst"),
      file: "cpu.max.burst",
      value: text(c.burst),
      isDefault: big(c.burst) === 0n,
      retry: true,
    });
  const quota = big(c.quota);
  const period = big(c.period);
  if (quota !== 0n || period !== 0n) {
    out.push({
      field: cpuField(quota !== 0n ? "quota" : "period"),
      file: "cpu.max",
      // Without a period, cgroup2's default (100 ms) is written with the quota.
      value: `${quota > 0n ? text(quota) : "max"} ${period === 0n ? 100000 : text(period)}`,
      isDefault: quota <= 0n && (period === 0n || period === 100000n),
    });
  }
  for (const key of ["realtimeRuntime", "realtimePeriod"] as const) {
    if (big(c[key]) !== 0n)
      throw new ConfigError(cpuField(key), "cgroup2 has no realtime CPU bandwidth (cpu.rt_* is cgroup v1's)");
  }
  return out;
}

function cpuset(r: Resources): Setting[] {
  const out: Setting[] = [];
  if (r.cpu?.cpus?.trim())
    out.push({ field: cpuField("cpus"), file: "cpuset.cpus", value: r.cpu.cpus.trim() });
  if (r.cpu?.mems?.trim())
    out.push({ field: cpuField("mems"), file: "cpuset.mems", value: r.cpu.mems.trim() });
  return out;
}

function pids(r: Resources): Setting[] {
  const limit = r.pids?.limit;
  if (limit === undefined || limit === null) return [];
  // Zero and below mean no limit (runtime-spec leaves them to the runtime; runc and youki read them so).
  return [
    {
      field: "linux.resources.pids.limit",
      file: "pids.max",
      value: limit > 0 ? text(limit) : "max",
      isDefault: limit <= 0,
    },
  ];
}

type BlockIO = NonNullable<Resources["blockIO"]>;
const THROTTLES = [
  ["throttleReadBpsDevice", "read_bps_device", "rbps"],
  ["throttleWriteBpsDevice", "write_bps_device", "wbps"],
  ["throttleReadIOPSDevice", "read_iops_device", "riops"],
  ["throttleWriteIOPSDevice", "write_iops_device", "wiops"],
] as const satisfies readonly (readonly [keyof BlockIO, string, string])[];

type Throttle = (typeof THROTTLES)[number];

/** How one cgroup version writes blockIO's weights and throttles. */
interface BlkioFiles {
  /** dev ("major:minor") for a device's own weight, absent for the cgroup's. */
  weight(field: string, weight: number, dev?: string): Setting;
  leafWeight(field: string, weight: number, dev?: string): Setting;
  throttle(field: string, t: Throttle, dev: string, rate: Num): Setting;
}

function blockIO(r: Resources, f: BlkioFiles): Setting[] {
  const b = r.blockIO;
  if (!b) return [];
  const out: Setting[] = [];
  if (b.weight) out.push(f.weight(blkioField("weight"), b.weight));
  if (b.leafWeight) out.push(f.leafWeight(blkioField("leafWeight"), b.leafWeight));
  (b.weightDevice ?? []).forEach((d, i) => {
    const dev = `${d.major}:${d.minor}`;
    if (d.weight) out.push(f.weight(blkioField(`weightDevice[${i}].weight`), d.weight, dev));
    if (d.leafWeight) out.push(f.leafWeight(blkioField(`weightDevice[${i}].leafWeight`), d.leafWeight, dev));
  });
  for (const t of THROTTLES) {
    (b[t[0]] ?? []).forEach((d, i) => {
      out.push(f.throttle(blkioField(`${t[0]}[${i}]`), t, `${d.major}:${d.minor}`, d.rate));
    });
  }
  return out;
}

const withDev = (dev: string | undefined, value: string) => (dev ? `${dev} ${value}` : value);

const blkioV1: Translate = (r) =>
  blockIO(r, {
    // blkio.weight is CFQ's, gone from current kernels; BFQ's takes the same scale.
    weight: (field, w, dev) => ({
      field,
      file: dev ? "blkio.weight_device" : "blkio.weight",
      value: withDev(dev, text(w)),
      alt: { file: dev ? "blkio.bfq.weight_device" : "blkio.bfq.weight", value: withDev(dev, text(w)) },
    }),
    leafWeight: (field, w, dev) => ({
      field,
      file: dev ? "blkio.leaf_weight_device" : "blkio.leaf_weight",
      value: withDev(dev, text(w)),
    }),
    throttle: (field, [, file], dev, rate) => ({
      field,
      file: `blkio.throttle.${file}`,
      value: `${dev} ${rate}`,
    }),
  });

const ioV2: Translate = (r) =>
  blockIO(r, {
    // BFQ's weight takes the v1 scale as it is; io.weight needs the conversion.
    weight: (field, w, dev) => ({
      field,
      file: "io.bfq.weight",
      value: withDev(dev, text(w)),
      alt: { file: "io.weight", value: withDev(dev, text(blkioWeightToIoWeight(w))) },
    }),
    leafWeight: (field) => {
      throw new ConfigError(field, "cgroup2 has no leaf weights");
    },
    throttle: (field, [, , key], dev, rate) => ({ field, file: "io.max", value: `${dev} ${key}=${rate}` }),
  });

const hugetlb =
  (suffix: string): Translate =>
  (r) =>
    (r.hugepageLimits ?? []).map((h, i) => ({
      field: `linux.resources.hugepageLimits[${i}]`,
      file: `hugetlb.${h.pageSize}.${suffix}`,
      value: text(h.limit),
      isDefault: big(h.limit) === U64_MAX,
    }));

function netCls(r: Resources): Setting[] {
  const id = r.network?.classID;
  if (id === undefined) return [];
  return [
    {
      field: "linux.resources.network.classID",
      file: "net_cls.classid",
      value: text(id),
      isDefault: id === 0,
    },
  ];
}

function netPrio(r: Resources): Setting[] {
  return (r.network?.priorities ?? []).map((p, i) => ({
    field: `linux.resources.network.priorities[${i}]`,
    file: "net_prio.ifpriomap",
    value: `${p.name} ${p.priority}`,
  }));
}

function rdma(r: Resources): Setting[] {
  return Object.entries(r.rdma ?? {}).flatMap(([dev, l]) => {
    const limits = [
      ...(l.hcaHandles === undefined ? [] : [`hca_handle=${l.hcaHandles}`]),
      ...(l.hcaObjects === undefined ? [] : [`hca_object=${l.hcaObjects}`]),
    ];
    if (limits.length === 0) return [];
    return [
      {
        field: `linux.resources.rdma[${JSON.stringify(dev)}]`,
        file: "rdma.max",
        value: `${dev} ${limits.join(" ")}`,
      },
    ];
  });
}

export interface Controller {
  /** Its name on cgroup2, where that differs. */
  readonly v2Name?: string;
  readonly v1: Translate;
  /** Absent: cgroup2 has no such controller. */
  readonly v2?: Translate;
}

/** Every controller linux.resources reaches (devices are applied by devices.ts and ebpf.ts). */
export const CONTROLLERS: Readonly<Record<string, Controller>> = {
  cpuset: { v1: cpuset, v2: cpuset },
  memory: { v1: memoryV1, v2: memoryV2 },
  cpu: { v1: cpuV1, v2: cpuV2 },
  pids: { v1: pids, v2: pids },
  blkio: { v2Name: "io", v1: blkioV1, v2: ioV2 },
  hugetlb: { v1: hugetlb("limit_in_bytes"), v2: hugetlb("max") },
  net_cls: { v1: netCls },
  net_prio: { v1: netPrio },
  rdma: { v1: rdma, v2: rdma },
};

// Files that move processes or change the cgroup's shape, not resources: never from the config.
const NOT_RESOURCES = new Set([
  "cgroup.procs",
  "cgroup.threads",
  "cgroup.kill",
  "cgroup.freeze",
  "cgroup.subtree_control",
  "cgroup.type",
]);

/** linux.resources.unified: cgroup2 file names and values, with the controller each needs ("" for cgroup2's core). */
export function unifiedSettings(r: Resources): { controller: string; setting: Setting }[] {
  return Object.entries(r.unified ?? {}).map(([file, value]) => {
    const field = `linux.resources.unified[${JSON.stringify(file)}]`;
    if (NOT_RESOURCES.has(file)) throw new ConfigError(field, `${file} is not a resource setting`);
    const prefix = file.slice(0, file.indexOf("."));
    return { controller: prefix === "cgroup" ? "" : prefix, setting: { field, file, value } };
  });
}
