// A container's resource usage as `runc events` reports it: runc's
// types.Stats, read from the cgroup files that runc's readers
// (opencontainers/cgroups fs for v1, fs2 for cgroup2) read, with their
// parsing quirks and runc's omitempty/omitzero already applied (an absent
// key is one Go would leave out). Values are u64 and may exceed 2^53 (v1's
// "unlimited" 9223372036854771712, cgroup2's "max" as 2^64-1), so they are
// bigints. Pure functions over a directory lookup: the unit tests point them
// at a fake cgroupfs under /tmp.
import { existsSync, readdirSync, readFileSync } from "node:fs";

export type U64 = bigint;

const MAX_U64 = 0xffffffffffffffffn;

interface PSIData {
  avg10: number;
  avg60: number;
  avg300: number;
  total: U64;
}
interface PSIStats {
  some?: PSIData;
  full?: PSIData;
}
interface CpuUsage {
  total?: U64;
  percpu?: U64[];
  percpu_kernel?: U64[];
  percpu_user?: U64[];
  kernel: U64;
  user: U64;
}
interface Throttling {
  periods?: U64;
  throttledPeriods?: U64;
  throttledTime?: U64;
}
interface Cpu {
  usage?: CpuUsage;
  throttling?: Throttling;
  psi?: PSIStats;
}
interface CPUSet {
  cpus?: number[];
  cpu_exclusive: U64;
  mems?: number[];
  mem_hardwall: U64;
  mem_exclusive: U64;
  memory_migrate: U64;
  memory_spread_page: U64;
  memory_spread_slab: U64;
  memory_pressure: U64;
  sched_load_balance: U64;
  /** An int64: -1 is "the system default". */
  sched_relax_domain_level: bigint;
}
interface MemoryEntry {
  limit: U64;
  usage?: U64;
  max?: U64;
  failcnt: U64;
}
interface Memory {
  cache?: U64;
  usage?: MemoryEntry;
  swap?: MemoryEntry;
  kernel?: MemoryEntry;
  kernelTCP?: MemoryEntry;
  raw?: Record<string, U64>;
  psi?: PSIStats;
}
interface Pids {
  current?: U64;
  limit?: U64;
}
interface BlkioEntry {
  major?: U64;
  minor?: U64;
  op?: string;
  value?: U64;
}
interface Blkio {
  ioServiceBytesRecursive?: BlkioEntry[];
  ioServicedRecursive?: BlkioEntry[];
  ioQueueRecursive?: BlkioEntry[];
  ioServiceTimeRecursive?: BlkioEntry[];
  ioWaitTimeRecursive?: BlkioEntry[];
  ioMergedRecursive?: BlkioEntry[];
  ioTimeRecursive?: BlkioEntry[];
  sectorsRecursive?: BlkioEntry[];
  psi?: PSIStats;
}
interface Hugetlb {
  usage?: U64;
  max?: U64;
  failcnt: U64;
}
/** runc's types.Stats, keys in its field order. */
export interface Stats {
  cpu: Cpu;
  cpuset: CPUSet;
  memory: Memory;
  pids: Pids;
  blkio: Blkio;
  /** Keyed by page size ("2MB"), sorted as Go sorts map keys. */
  hugetlb: Record<string, Hugetlb>;
  /** Intel RDT is not supported by bunc: every field of runc's struct is omitempty. */
  intel_rdt: Record<string, never>;
  /** runc reports interfaces only for a network it configured itself; bunc never does. */
  network_interfaces: null;
}

/** Where one controller's files are (Cgroup.controllerDir), and the cgroup2 directory. */
export interface StatsSource {
  controllerDir(name: string): { dir: string; version: 1 | 2 } | undefined;
  /** The container's cgroup2 directory: cpu.stat and cgroup.procs are core there, whatever its controllers. */
  readonly unified?: string | undefined;
  /** Huge page sizes as runc names them ("2MB"); the host's by default. */
  readonly hugePageSizes?: readonly string[];
}

// --- reading files ---------------------------------------------------------

/** A file's text; undefined when it is not there (or its cgroup went away while we read). */
function read(dir: string, file: string): string | undefined {
  try {
    return readFileSync(`${dir}/${file}`, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENODEV") return undefined;
    throw e;
  }
}

class ParseError extends Error {
  constructor(dir: string, file: string, what: string) {
    super(`unable to parse ${dir}/${file}: ${what}`);
  }
}

/**
 * Go's fscommon.ParseUint: decimal, and negative values read as 0 (some v1
 * memory counters go below zero through kernel bugs).
 */
function parseU64(text: string, dir: string, file: string): U64 {
  if (/^\d+$/.test(text)) {
    const n = BigInt(text);
    if (n <= MAX_U64) return n;
  } else if (/^-\d+$/.test(text)) return 0n;
  throw new ParseError(dir, file, `invalid number ${JSON.stringify(text)}`);
}

/** GetCgroupParamUint: one value, "max" as 2^64-1. Undefined when the file is not there. */
function u64File(dir: string, file: string): U64 | undefined {
  const text = read(dir, file)?.trim();
  if (text === undefined) return undefined;
  return text === "max" ? MAX_U64 : parseU64(text, dir, file);
}

/** "key value" lines (memory.stat, cpu.stat, memory.events), in file order. */
function keyValues(dir: string, file: string): Map<string, U64> | undefined {
  const text = read(dir, file);
  if (text === undefined) return undefined;
  const out = new Map<string, U64>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const sp = line.indexOf(" ");
    if (sp <= 0 || sp === line.length - 1)
      throw new ParseError(dir, file, `line ${JSON.stringify(line)} is not in "key value" format`);
    out.set(line.slice(0, sp), parseU64(line.slice(sp + 1), dir, file));
  }
  return out;
}

const orZero = (n: U64 | undefined) => n ?? 0n;

/** The OOM kills so far: v1's oom_kill line of memory.oom_control, cgroup2's oom_kill in memory.events. */
export function oomKillCount(memory: { dir: string; version: 1 | 2 } | undefined): U64 | undefined {
  if (!memory) return undefined;
  const file = memory.version === 1 ? "memory.oom_control" : "memory.events";
  return keyValues(memory.dir, file)?.get("oom_kill");
}

// --- cgroup2 pressure (PSI) ------------------------------------------------

function psi(dir: string, file: string): PSIStats | undefined {
  const text = read(dir, file);
  if (text === undefined) return undefined;
  const out: PSIStats = {};
  for (const line of text.split("\n")) {
    const [kind, ...fields] = line.split(/\s+/).filter(Boolean);
    if (kind !== "some" && kind !== "full") continue;
    const data: PSIData = { avg10: 0, avg60: 0, avg300: 0, total: 0n };
    for (const f of fields) {
      const [key = "", value = ""] = f.split("=", 2);
      if (key === "total") data.total = parseU64(value, dir, file);
      else if (key === "avg10" || key === "avg60" || key === "avg300") {
        const n = Number(value);
        if (value === "" || Number.isNaN(n)) throw new ParseError(dir, file, `invalid ${key} ${value}`);
        data[key] = n;
      }
    }
    // omitzero: a struct of zeros is left out.
    if (data.avg10 || data.avg60 || data.avg300 || data.total) out[kind] = data;
  }
  return out;
}

// --- cpu -------------------------------------------------------------------

// cpuacct.stat counts in USER_HZ, which is 100 on Linux (runc hard-codes it too).
const CLOCK_TICKS = 100n;
const NS_PER_SEC = 1_000_000_000n;

interface CpuRaw {
  total: U64;
  percpu?: U64[];
  percpuKernel?: U64[];
  percpuUser?: U64[];
  kernel: U64;
  user: U64;
  periods: U64;
  throttledPeriods: U64;
  throttledTime: U64;
  psi?: PSIStats | undefined;
}

/** v1 cpuacct: total, per cpu and per mode (fs/cpuacct.go). */
function cpuacctV1(dir: string, cpu: CpuRaw): void {
  const stat = read(dir, "cpuacct.stat");
  if (stat !== undefined) {
    const f = stat.split(/\s+/).filter(Boolean);
    if (f.length < 4 || f[0] !== "user" || f[2] !== "system")
      throw new ParseError(dir, "cpuacct.stat", `malformed ${JSON.stringify(stat.trim())}`);
    cpu.user = (parseU64(f[1] ?? "", dir, "cpuacct.stat") * NS_PER_SEC) / CLOCK_TICKS;
    cpu.kernel = (parseU64(f[3] ?? "", dir, "cpuacct.stat") * NS_PER_SEC) / CLOCK_TICKS;
  }
  cpu.total = orZero(u64File(dir, "cpuacct.usage"));
  const percpu = read(dir, "cpuacct.usage_percpu") ?? "";
  cpu.percpu = percpu
    .split(/\s+/)
    .filter(Boolean)
    .map((v) => parseU64(v, dir, "cpuacct.usage_percpu"));
  // "cpu user system" then one line per cpu; runc leaves both empty without the file.
  cpu.percpuKernel = [];
  cpu.percpuUser = [];
  const all = read(dir, "cpuacct.usage_all");
  if (all !== undefined) {
    const [header = "", ...lines] = all.split("\n");
    if (!header.startsWith("cpu user system"))
      throw new ParseError(dir, "cpuacct.usage_all", `malformed header ${JSON.stringify(header)}`);
    for (const line of lines) {
      const f = line.split(" ");
      if (f.length < 3) continue;
      cpu.percpuUser.push(parseU64(f[1] ?? "", dir, "cpuacct.usage_all"));
      cpu.percpuKernel.push(parseU64(f[2] ?? "", dir, "cpuacct.usage_all"));
    }
  }
}

/** v1 cpu: throttling, in nanoseconds already (fs/cpu.go). */
function cpuV1(dir: string, cpu: CpuRaw): void {
  const stat = keyValues(dir, "cpu.stat");
  if (!stat) return;
  cpu.periods = orZero(stat.get("nr_periods"));
  cpu.throttledPeriods = orZero(stat.get("nr_throttled"));
  cpu.throttledTime = orZero(stat.get("throttled_time"));
}

/** cgroup2 cpu.stat, in microseconds (fs2/cpu.go); usage is there even without the cpu controller. */
function cpuV2(dir: string, cpu: CpuRaw): void {
  const stat = keyValues(dir, "cpu.stat");
  if (stat) {
    const us = (key: string, set: (v: U64) => void) => {
      const v = stat.get(key);
      if (v !== undefined) set(v * 1000n);
    };
    us("usage_usec", (v) => (cpu.total = v));
    us("user_usec", (v) => (cpu.user = v));
    us("system_usec", (v) => (cpu.kernel = v));
    us("throttled_usec", (v) => (cpu.throttledTime = v));
    cpu.periods = stat.get("nr_periods") ?? cpu.periods;
    cpu.throttledPeriods = stat.get("nr_throttled") ?? cpu.throttledPeriods;
  }
  cpu.psi = psi(dir, "cpu.pressure");
}

function readCpu(src: StatsSource): Cpu {
  const cpu: CpuRaw = {
    total: 0n,
    kernel: 0n,
    user: 0n,
    periods: 0n,
    throttledPeriods: 0n,
    throttledTime: 0n,
  };
  const acct = src.controllerDir("cpuacct");
  const sched = src.controllerDir("cpu");
  // cgroup2 first, so that what a v1 hierarchy has (where the host gives it one) wins.
  const v2 = [acct, sched].find((c) => c?.version === 2)?.dir ?? (acct ? undefined : src.unified);
  if (v2 !== undefined) cpuV2(v2, cpu);
  if (acct?.version === 1) cpuacctV1(acct.dir, cpu);
  if (sched?.version === 1) cpuV1(sched.dir, cpu);

  const out: Cpu = {};
  // omitzero on a struct: v1's per-cpu lists are never nil, so its usage is
  // always there; cgroup2's is left out when all of it is zero.
  if (cpu.percpu || cpu.total || cpu.kernel || cpu.user) {
    out.usage = {
      ...(cpu.total ? { total: cpu.total } : {}),
      ...(cpu.percpu?.length ? { percpu: cpu.percpu } : {}),
      ...(cpu.percpuKernel?.length ? { percpu_kernel: cpu.percpuKernel } : {}),
      ...(cpu.percpuUser?.length ? { percpu_user: cpu.percpuUser } : {}),
      kernel: cpu.kernel,
      user: cpu.user,
    };
  }
  const throttling = omitEmpty({
    periods: cpu.periods,
    throttledPeriods: cpu.throttledPeriods,
    throttledTime: cpu.throttledTime,
  });
  if (Object.keys(throttling).length) out.throttling = throttling;
  if (cpu.psi) out.psi = cpu.psi;
  return out;
}

// --- cpuset (v1 only, as in runc) -----------------------------------------

/** "0-3,8" as [0,1,2,3,8]; undefined for a missing or empty file. */
function cpuList(dir: string, file: string): number[] | undefined {
  const text = read(dir, file)?.trim();
  if (!text) return undefined;
  const out: number[] = [];
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const from = Number(m?.[1]);
    const to = m?.[2] === undefined ? from : Number(m[2]);
    if (!m || from > to || to > 0xffff)
      throw new ParseError(dir, file, `invalid list ${JSON.stringify(text)}`);
    for (let i = from; i <= to; i++) out.push(i);
  }
  return out;
}

function readCpuset(src: StatsSource): CPUSet {
  const c = src.controllerDir("cpuset");
  const dir = c?.version === 1 ? c.dir : undefined;
  const num = (name: string) => (dir === undefined ? 0n : orZero(u64File(dir, `cpuset.${name}`)));
  const cpus = dir === undefined ? undefined : cpuList(dir, "cpuset.cpus");
  const mems = dir === undefined ? undefined : cpuList(dir, "cpuset.mems");
  const relax = dir === undefined ? undefined : read(dir, "cpuset.sched_relax_domain_level")?.trim();
  if (relax !== undefined && !/^-?\d+$/.test(relax))
    throw new ParseError(dir ?? "", "cpuset.sched_relax_domain_level", `invalid number ${relax}`);
  return {
    ...(cpus?.length ? { cpus } : {}),
    cpu_exclusive: num("cpu_exclusive"),
    ...(mems?.length ? { mems } : {}),
    mem_hardwall: num("mem_hardwall"),
    mem_exclusive: num("mem_exclusive"),
    memory_migrate: num("memory_migrate"),
    memory_spread_page: num("memory_spread_page"),
    memory_spread_slab: num("memory_spread_slab"),
    memory_pressure: num("memory_pressure"),
    sched_load_balance: num("sched_load_balance"),
    sched_relax_domain_level: relax === undefined ? 0n : BigInt(relax),
  };
}

// --- memory ----------------------------------------------------------------

interface MemoryData {
  usage: U64;
  max: U64;
  failcnt: U64;
  limit: U64;
}

const ZERO_DATA: MemoryData = { usage: 0n, max: 0n, failcnt: 0n, limit: 0n };

/** types.MemoryEntry; omitzero: undefined when every field is zero. */
function entry(d: MemoryData): MemoryEntry | undefined {
  if (!d.usage && !d.max && !d.failcnt && !d.limit) return undefined;
  return {
    limit: d.limit,
    ...(d.usage ? { usage: d.usage } : {}),
    ...(d.max ? { max: d.max } : {}),
    failcnt: d.failcnt,
  };
}

/** v1 memory[.name].{usage_in_bytes,max_usage_in_bytes,failcnt,limit_in_bytes}; zero when the kernel lacks them (swap, kmem). */
function memoryDataV1(dir: string, name: string): MemoryData {
  const prefix = name ? `memory.${name}` : "memory";
  const usage = u64File(dir, `${prefix}.usage_in_bytes`);
  if (usage === undefined) return ZERO_DATA;
  return {
    usage,
    max: orZero(u64File(dir, `${prefix}.max_usage_in_bytes`)),
    failcnt: orZero(u64File(dir, `${prefix}.failcnt`)),
    limit: orZero(u64File(dir, `${prefix}.limit_in_bytes`)),
  };
}

/** cgroup2 memory[.name].{current,max,peak} (peak since 5.19, swap.peak since 6.5). */
function memoryDataV2(dir: string, name: string): MemoryData {
  const prefix = name ? `memory.${name}` : "memory";
  const usage = u64File(dir, `${prefix}.current`);
  if (usage === undefined) return ZERO_DATA;
  return {
    usage,
    limit: orZero(u64File(dir, `${prefix}.max`)),
    max: orZero(u64File(dir, `${prefix}.peak`)),
    failcnt: 0n,
  };
}

function readMemory(src: StatsSource): Memory {
  const c = src.controllerDir("memory");
  if (!c) return {};
  const stat = keyValues(c.dir, "memory.stat");
  if (!stat) return {};
  const raw = Object.fromEntries([...stat].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  let cache: U64;
  let usage: MemoryData;
  let swap: MemoryData;
  let kernel = ZERO_DATA;
  let kernelTCP = ZERO_DATA;
  let pressure: PSIStats | undefined;
  if (c.version === 1) {
    cache = orZero(stat.get("cache"));
    usage = memoryDataV1(c.dir, "");
    swap = memoryDataV1(c.dir, "memsw");
    kernel = memoryDataV1(c.dir, "kmem");
    kernelTCP = memoryDataV1(c.dir, "kmem.tcp");
  } else {
    cache = orZero(stat.get("file"));
    usage = memoryDataV2(c.dir, "");
    // cgroup2 counts swap alone; runc reports memory+swap, as v1 does, with
    // a u64 sum that wraps as Go's does, and no peak.
    const only = memoryDataV2(c.dir, "swap");
    swap = {
      usage: BigInt.asUintN(64, only.usage + usage.usage),
      limit: only.limit === MAX_U64 ? only.limit : BigInt.asUintN(64, only.limit + usage.limit),
      max: 0n,
      failcnt: only.failcnt,
    };
    pressure = psi(c.dir, "memory.pressure");
  }
  const out: Memory = {};
  if (cache) out.cache = cache;
  const parts = {
    usage: entry(usage),
    swap: entry(swap),
    kernel: entry(kernel),
    kernelTCP: entry(kernelTCP),
  };
  for (const [k, v] of Object.entries(parts)) if (v) out[k as keyof typeof parts] = v;
  if (stat.size) out.raw = raw;
  if (pressure) out.psi = pressure;
  return out;
}

// --- pids ------------------------------------------------------------------

function readPids(src: StatsSource): Pids {
  const c = src.controllerDir("pids");
  let current: U64 | undefined;
  let limit: U64 = 0n;
  if (c) {
    current = u64File(c.dir, "pids.current");
    // No limit reads "max", which runc has always reported as 0.
    if (current !== undefined) limit = orZero(u64File(c.dir, "pids.max"));
    if (limit === MAX_U64) limit = 0n;
  }
  // cgroup2 without the pids controller: the processes in cgroup.procs.
  const v2 = c ? (c.version === 2 ? c.dir : undefined) : src.unified;
  if (current === undefined && v2 !== undefined) {
    const procs = read(v2, "cgroup.procs");
    if (procs !== undefined) current = BigInt(procs.split("\n").length - 1);
  }
  return omitEmpty({ current: orZero(current), limit });
}

// --- blkio / io ------------------------------------------------------------

type BlkioList = Exclude<keyof Blkio, "psi">;

/** v1 "MAJ:MIN [Op] value" lines; the closing "Total N" is skipped. Undefined when missing or empty, as runc's nil. */
function blkioEntries(dir: string, file: string): BlkioEntry[] | undefined {
  const text = read(dir, file);
  if (text === undefined) return undefined;
  const out: BlkioEntry[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const f = line.split(/[ :]/).filter(Boolean);
    if (f.length < 3) {
      if (f.length === 2 && f[0] === "Total") continue;
      throw new ParseError(dir, file, `malformed line ${JSON.stringify(line)}`);
    }
    const op = f.length === 4 ? (f[2] ?? "") : "";
    out.push(
      blkioEntry(
        parseU64(f[0] ?? "", dir, file),
        parseU64(f[1] ?? "", dir, file),
        op,
        parseU64(f[f.length === 4 ? 3 : 2] ?? "", dir, file),
      ),
    );
  }
  return out.length ? out : undefined;
}

/** types.BlkioEntry: every field omitempty. */
function blkioEntry(major: U64, minor: U64, op: string, value: U64): BlkioEntry {
  return omitEmpty({ major, minor, op, value });
}

// The file groups runc tries in order (fs/blkio.go): the first group whose
// first file has entries is the one read, BFQ's before CFQ's before the
// throttling counters.
const BLKIO_GROUPS: readonly (readonly [string, BlkioList][])[] = [
  [
    ["blkio.bfq.sectors_recursive", "sectorsRecursive"],
    ["blkio.bfq.io_service_time_recursive", "ioServiceTimeRecursive"],
    ["blkio.bfq.io_wait_time_recursive", "ioWaitTimeRecursive"],
    ["blkio.bfq.io_merged_recursive", "ioMergedRecursive"],
    ["blkio.bfq.io_queued_recursive", "ioQueueRecursive"],
    ["blkio.bfq.time_recursive", "ioTimeRecursive"],
    ["blkio.bfq.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.bfq.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.bfq.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.bfq.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.sectors_recursive", "sectorsRecursive"],
    ["blkio.io_service_time_recursive", "ioServiceTimeRecursive"],
    ["blkio.io_wait_time_recursive", "ioWaitTimeRecursive"],
    ["blkio.io_merged_recursive", "ioMergedRecursive"],
    ["blkio.io_queued_recursive", "ioQueueRecursive"],
    ["blkio.time_recursive", "ioTimeRecursive"],
    ["blkio.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.throttle.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.throttle.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.throttle.io_serviced", "ioServicedRecursive"],
    ["blkio.throttle.io_service_bytes", "ioServiceBytesRecursive"],
  ],
];

function blkioV1(dir: string): Blkio {
  const out: Blkio = {};
  for (const group of BLKIO_GROUPS) {
    for (const [i, [file, key]] of group.entries()) {
      const entries = blkioEntries(dir, file);
      if (!entries) {
        if (i === 0) break;
        return out; // runc stops at a later file of the chosen group that is missing
      }
      out[key] = entries;
      if (i === group.length - 1) return out;
    }
  }
  return out;
}

// io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N", in
// v1's names and tables (fs2/io.go); other keys have no place in types.Blkio.
const IO_KEYS: Record<string, [BlkioList, string]> = {
  rbytes: ["ioServiceBytesRecursive", "Read"],
  wbytes: ["ioServiceBytesRecursive", "Write"],
  rios: ["ioServicedRecursive", "Read"],
  wios: ["ioServicedRecursive", "Write"],
};

function ioV2(dir: string): Blkio {
  const out: Blkio = {};
  for (const line of (read(dir, "io.stat") ?? "").split("\n")) {
    const [device = "", ...items] = line.split(/\s+/).filter(Boolean);
    const d = device.split(":");
    if (items.length === 0 || d.length !== 2) continue;
    const major = parseU64(d[0] ?? "", dir, "io.stat");
    const minor = parseU64(d[1] ?? "", dir, "io.stat");
    for (const item of items) {
      const kv = item.split("=");
      const target = kv.length === 2 ? IO_KEYS[kv[0] ?? ""] : undefined;
      if (!target) continue;
      const [key, op] = target;
      const list = out[key] ?? [];
      list.push(blkioEntry(major, minor, op, parseU64(kv[1] ?? "", dir, "io.stat")));
      out[key] = list;
    }
  }
  const pressure = psi(dir, "io.pressure");
  if (pressure) out.psi = pressure;
  return out;
}

function readBlkio(src: StatsSource): Blkio {
  const c = src.controllerDir("blkio");
  if (!c) return {};
  return c.version === 1 ? blkioV1(c.dir) : ioV2(c.dir);
}

// --- hugetlb ---------------------------------------------------------------

/** runc's names for the host's huge page sizes: /sys/kernel/mm/hugepages/hugepages-2048kB is "2MB". */
export function hostHugePageSizes(dir = "/sys/kernel/mm/hugepages"): string[] {
  if (!existsSync(dir)) return [];
  const units = ["KB", "MB", "GB", "TB", "PB"];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = /^hugepages-(\d+)kB$/.exec(name);
    if (!m) continue;
    let size = Number(m[1]);
    let u = 0;
    while (size >= 1024 && u < units.length - 1) {
      size /= 1024;
      u++;
    }
    out.push(`${size}${units[u]}`);
  }
  return out;
}

function readHugetlb(src: StatsSource): Record<string, Hugetlb> {
  const c = src.controllerDir("hugetlb");
  const out: Record<string, Hugetlb> = {};
  if (!c) return out;
  // The reservation counters (.rsvd, since 5.7) when the kernel has them: what a mapping reserved, not only what it touched.
  let rsvd = ".rsvd";
  for (const size of [...(src.hugePageSizes ?? hostHugePageSizes())].sort()) {
    const prefix = `hugetlb.${size}`;
    const usageFile = (r: string) =>
      c.version === 1 ? `${prefix}${r}.usage_in_bytes` : `${prefix}${r}.current`;
    let usage = u64File(c.dir, usageFile(rsvd));
    if (usage === undefined && rsvd) {
      rsvd = "";
      usage = u64File(c.dir, usageFile(rsvd));
    }
    if (usage === undefined) continue;
    const h: Hugetlb =
      c.version === 1
        ? {
            usage,
            max: orZero(u64File(c.dir, `${prefix}${rsvd}.max_usage_in_bytes`)),
            failcnt: orZero(u64File(c.dir, `${prefix}${rsvd}.failcnt`)),
          }
        : { usage, failcnt: orZero(keyValues(c.dir, `${prefix}.events`)?.get("max")) };
    out[size] = {
      ...(h.usage ? { usage: h.usage } : {}),
      ...(h.max ? { max: h.max } : {}),
      failcnt: h.failcnt,
    };
  }
  return out;
}

// --- all -------------------------------------------------------------------

/** Go's omitempty for a struct of scalars: zeros and empty strings left out. */
function omitEmpty<T extends Record<string, U64 | string>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0n && v !== "")) as Partial<T>;
}

/** The container's statistics, as `runc events` prints them under "data". */
export function readStats(src: StatsSource): Stats {
  return {
    cpu: readCpu(src),
    cpuset: readCpuset(src),
    memory: readMemory(src),
    pids: readPids(src),
    blkio: readBlkio(src),
    hugetlb: readHugetlb(src),
    intel_rdt: {},
    network_interfaces: null,
  };
}
