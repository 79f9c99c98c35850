// valibot schema of config.json (runtime-spec config.md, config-linux.md).
// Every field of the spec is described, so a present field is either used
// or refused by name (see unsupported.ts); unknown properties are ignored,
// as the spec requires.
import * as v from "valibot";
import {
  IOPRIO_CLASS,
  MAX_MAJOR,
  MAX_MINOR,
  MPOL_FLAG,
  MPOL_MODE,
  namesOf,
  PERSONALITY,
  SCHED_FLAG,
  SCHED_POLICY,
  SECCOMP_ARCH_NAMES,
  SECCOMP_FLAG,
  SECCOMP_OPS,
  SECCOMP_RET,
} from "../sys/constants.ts";
import { hasControl } from "../sys/text.ts";
import { absPath, str, stringList } from "./fields.ts";
import { HOOK_STAGES, Hook } from "./hook.ts";
import { ociVersionSupported } from "./version.ts";

const int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
const uint32 = int(0, 0xffffffff);
// (uid_t)-1 means "no change" to the kernel: as an id it would run as root.
const id = v.pipe(
  v.number(),
  v.integer(),
  v.minValue(0),
  v.maxValue(0xfffffffe, "must be at most 4294967294: 4294967295 is not a valid id"),
);
// A u64: a number while it is exact as a double, a bigint above that (how
// validate.ts reads such numbers from the text, so that no bit is lost).
const uint64 = v.pipe(
  v.union([v.number(), v.bigint()]),
  v.check(
    (n) => (typeof n === "bigint" ? n >= 0n && n <= 0xffffffffffffffffn : Number.isSafeInteger(n) && n >= 0),
    "must be a whole number from 0 to 18446744073709551615",
  ),
);
// Written to the kernel as decimal text, so it must be exact.
const int64 = int(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
const anyObject = v.record(str, v.unknown());

const IdMapping = v.object({ containerID: id, hostID: id, size: uint32 });

export const Mount = v.object({
  destination: v.pipe(str, v.minLength(1, "must not be empty")),
  source: v.optional(str),
  type: v.optional(str),
  options: v.optional(stringList),
  uidMappings: v.optional(v.array(IdMapping)),
  gidMappings: v.optional(v.array(IdMapping)),
});

const hookList = v.optional(v.array(Hook));

const capList = v.optional(stringList);
const Capabilities = v.object({
  bounding: capList,
  effective: capList,
  permitted: capList,
  inheritable: capList,
  ambient: capList,
});

const Rlimit = v.object({
  type: v.pipe(str, v.startsWith("RLIMIT_", "must be an RLIMIT_ name")),
  soft: uint64,
  hard: uint64,
});

export const Process = v.object({
  terminal: v.optional(v.boolean()),
  consoleSize: v.optional(v.object({ height: int(0, 0xffff), width: int(0, 0xffff) })),
  user: v.object({
    uid: id,
    gid: id,
    umask: v.optional(int(0, 0o777)),
    additionalGids: v.optional(v.array(id)),
    username: v.optional(str),
  }),
  // Required, and not empty once planned: an image may supply it at precreate (plan/process.ts).
  args: stringList,
  commandLine: v.optional(str),
  env: v.optional(v.array(v.pipe(str, v.includes("=", "must be KEY=VALUE")))),
  cwd: absPath,
  capabilities: v.optional(Capabilities),
  rlimits: v.optional(v.array(Rlimit)),
  noNewPrivileges: v.optional(v.boolean()),
  apparmorProfile: v.optional(str),
  oomScoreAdj: v.optional(v.pipe(v.number(), v.integer(), v.minValue(-1000), v.maxValue(1000))),
  selinuxLabel: v.optional(str),
  ioPriority: v.optional(v.object({ class: v.picklist(namesOf(IOPRIO_CLASS)), priority: int(0, 7) })),
  scheduler: v.optional(
    v.object({
      policy: v.picklist(namesOf(SCHED_POLICY)),
      nice: v.optional(int(-20, 19)),
      priority: v.optional(int(0, 99)),
      flags: v.optional(v.array(v.picklist(namesOf(SCHED_FLAG)))),
      runtime: v.optional(uint64),
      deadline: v.optional(uint64),
      period: v.optional(uint64),
    }),
  ),
  execCPUAffinity: v.optional(v.object({ initial: v.optional(str), final: v.optional(str) })),
});

export const NamespaceType = v.picklist(["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"]);
const Namespace = v.object({ type: NamespaceType, path: v.optional(absPath) });

// An absent (or null) major or minor means any; no number stands for it.
const DeviceRule = v.object({
  allow: v.boolean(),
  type: v.optional(v.picklist(["a", "c", "b"])),
  major: v.optional(v.nullable(int(0, MAX_MAJOR))),
  minor: v.optional(v.nullable(int(0, MAX_MINOR))),
  access: v.optional(v.pipe(str, v.regex(/^[rwm]*$/, "must be made of r, w and m"))),
});

// An i64 of the kernel's cgroup files: exact as a bigint beyond 2^53.
const int64Exact = v.pipe(
  v.union([v.number(), v.bigint()]),
  v.check(
    (n) =>
      typeof n === "bigint" ? n >= -0x8000000000000000n && n <= 0x7fffffffffffffffn : Number.isSafeInteger(n),
    "must be a whole number from -9223372036854775808 to 9223372036854775807",
  ),
);
// A CPU or memory-node list as cpuset.cpus takes it: "0-3,5".
const cpuList = v.pipe(
  str,
  v.regex(/^\s*(\d+(-\d+)?(\s*,\s*\d+(-\d+)?)*)?\s*$/, 'must be a list like "0-3,5"'),
);
const blkioWeight = v.pipe(
  int(0, 1000),
  v.check((w) => w === 0 || w >= 10, "must be from 10 to 1000 (0 leaves it unset)"),
);
const BlockDevice = { major: int(0, MAX_MAJOR), minor: int(0, MAX_MINOR) };
const ThrottleDevice = v.object({ ...BlockDevice, rate: uint64 });
const throttle = v.optional(v.array(ThrottleDevice));

const MemoryResources = v.object({
  limit: v.optional(int64Exact),
  reservation: v.optional(int64Exact),
  swap: v.optional(int64Exact),
  kernel: v.optional(int64Exact),
  kernelTCP: v.optional(int64Exact),
  // -1 read as a u64 (runc's "unset") is allowed beside 0..100.
  swappiness: v.optional(
    v.pipe(
      uint64,
      v.check((n) => n <= 100 || n === 0xffffffffffffffffn, "must be from 0 to 100"),
    ),
  ),
  disableOOMKiller: v.optional(v.boolean()),
  useHierarchy: v.optional(v.boolean()),
  checkBeforeUpdate: v.optional(v.boolean()),
});

const CpuResources = v.object({
  shares: v.optional(uint64),
  quota: v.optional(int64Exact),
  burst: v.optional(uint64),
  period: v.optional(uint64),
  realtimeRuntime: v.optional(int64Exact),
  realtimePeriod: v.optional(uint64),
  cpus: v.optional(cpuList),
  mems: v.optional(cpuList),
  idle: v.optional(int(-1, 1)),
});

/** linux.resources; also what `update --resources` reads. */
export const Resources = v.object({
  devices: v.optional(v.array(DeviceRule)),
  memory: v.optional(MemoryResources),
  cpu: v.optional(CpuResources),
  pids: v.optional(v.object({ limit: v.optional(v.nullable(int64)) })),
  blockIO: v.optional(
    v.object({
      weight: v.optional(blkioWeight),
      leafWeight: v.optional(blkioWeight),
      weightDevice: v.optional(
        v.array(
          v.object({ ...BlockDevice, weight: v.optional(blkioWeight), leafWeight: v.optional(blkioWeight) }),
        ),
      ),
      throttleReadBpsDevice: throttle,
      throttleWriteBpsDevice: throttle,
      throttleReadIOPSDevice: throttle,
      throttleWriteIOPSDevice: throttle,
    }),
  ),
  hugepageLimits: v.optional(
    v.array(
      v.object({
        pageSize: v.pipe(str, v.regex(/^\d+[KMGT]B$/, 'must be a size like "2MB" or "1GB"')),
        limit: uint64,
      }),
    ),
  ),
  network: v.optional(
    v.object({
      classID: v.optional(uint32),
      priorities: v.optional(
        v.array(
          v.object({
            name: v.pipe(str, v.regex(/^[^\s/]+$/, "must be an interface name")),
            priority: uint32,
          }),
        ),
      ),
    }),
  ),
  rdma: v.optional(
    v.record(
      v.pipe(str, v.regex(/^[^\s/]+$/, "must be a device name")),
      v.object({ hcaHandles: v.optional(uint32), hcaObjects: v.optional(uint32) }),
    ),
  ),
  // cgroup2 file name -> value; a name cannot leave the cgroup's directory.
  unified: v.optional(
    v.record(
      v.pipe(
        str,
        v.regex(/^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/, 'must be a cgroup2 file name like "memory.high"'),
      ),
      v.pipe(
        str,
        v.check((s) => !s.includes("\n"), "must be one line"),
      ),
    ),
  ),
});

export const Propagation = v.picklist([
  "private",
  "rprivate",
  "slave",
  "rslave",
  "shared",
  "rshared",
  "unbindable",
  "runbindable",
]);

const SeccompArg = v.object({
  index: int(0, 5),
  value: uint64,
  valueTwo: v.optional(uint64),
  op: v.picklist(SECCOMP_OPS),
});

const SeccompAction = v.picklist(namesOf(SECCOMP_RET));

const Seccomp = v.object({
  defaultAction: SeccompAction,
  defaultErrnoRet: v.optional(uint32),
  architectures: v.optional(v.array(v.picklist(SECCOMP_ARCH_NAMES))),
  flags: v.optional(v.array(v.picklist(namesOf(SECCOMP_FLAG)))),
  listenerPath: v.optional(v.pipe(str, v.minLength(1, "must not be empty"))),
  listenerMetadata: v.optional(str),
  syscalls: v.optional(
    v.array(
      v.object({
        // Hundreds of names in a real profile: checked as one list, which is much faster.
        names: v.pipe(
          v.array(v.string()),
          v.minLength(1, "must name at least one syscall"),
          v.check((names) => names.every((n) => !n.includes("\0")), "must not contain a NUL byte"),
        ),
        action: SeccompAction,
        errnoRet: v.optional(uint32),
        args: v.optional(v.array(SeccompArg)),
      }),
    ),
  ),
});

const Linux = v.object({
  namespaces: v.optional(v.array(Namespace)),
  uidMappings: v.optional(v.array(IdMapping)),
  gidMappings: v.optional(v.array(IdMapping)),
  timeOffsets: v.optional(
    v.record(
      v.picklist(["monotonic", "boottime"]),
      v.object({
        secs: int64,
        nanosecs: int(0, 999999999),
      }),
    ),
  ),
  devices: v.optional(
    v.array(
      v.object({
        type: v.picklist(["c", "b", "u", "p"]),
        path: absPath,
        major: v.optional(int(0, MAX_MAJOR)),
        minor: v.optional(int(0, MAX_MINOR)),
        fileMode: v.optional(uint32),
        uid: v.optional(id),
        gid: v.optional(id),
      }),
    ),
  ),
  netDevices: v.optional(anyObject),
  cgroupsPath: v.optional(
    v.pipe(
      str,
      v.check((p) => !hasControl(p), "must not contain control characters"),
    ),
  ),
  resources: v.optional(Resources),
  intelRdt: v.optional(anyObject),
  memoryPolicy: v.optional(
    v.object({
      mode: v.picklist(namesOf(MPOL_MODE)),
      nodes: v.optional(str),
      flags: v.optional(v.array(v.picklist(namesOf(MPOL_FLAG)))),
    }),
  ),
  sysctl: v.optional(v.record(str, str)),
  seccomp: v.optional(Seccomp),
  rootfsPropagation: v.optional(Propagation),
  maskedPaths: v.optional(v.array(absPath)),
  readonlyPaths: v.optional(v.array(absPath)),
  mountLabel: v.optional(str),
  personality: v.optional(
    v.object({ domain: v.picklist(namesOf(PERSONALITY)), flags: v.optional(stringList) }),
  ),
});

export const Config = v.object({
  ociVersion: v.pipe(
    str,
    v.check(
      ociVersionSupported,
      (i) => `unsupported version ${JSON.stringify(i.input)}; bunc runs 1.0 to 1.3`,
    ),
  ),
  root: v.object({
    path: v.pipe(str, v.minLength(1, "must not be empty")),
    readonly: v.optional(v.boolean()),
  }),
  mounts: v.optional(v.array(Mount)),
  process: Process,
  hostname: v.optional(str),
  domainname: v.optional(str),
  hooks: v.optional(
    v.object({
      prestart: hookList,
      createRuntime: hookList,
      createContainer: hookList,
      startContainer: hookList,
      poststart: hookList,
      poststop: hookList,
    }),
  ),
  annotations: v.optional(v.record(str, str)),
  linux: v.optional(Linux),
});

export type Config = v.InferOutput<typeof Config>;
export type Process = v.InferOutput<typeof Process>;
export type Mount = v.InferOutput<typeof Mount>;
export type NamespaceType = v.InferOutput<typeof NamespaceType>;
export type Propagation = v.InferOutput<typeof Propagation>;
export type DeviceRule = v.InferOutput<typeof DeviceRule>;
export type Resources = v.InferOutput<typeof Resources>;
export { HOOK_STAGES, Hook };
export type Seccomp = v.InferOutput<typeof Seccomp>;
