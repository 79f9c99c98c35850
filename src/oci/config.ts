// valibot schema of config.json (runtime-spec config.md, config-linux.md).
// Every field of the spec is described, so a present field is either used
// or refused by name (see unsupported.ts); unknown properties are ignored,
// as the spec requires.
import * as v from "valibot";
import { ociVersionSupported } from "./version.ts";

const uint32 = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));
const int64 = v.pipe(v.number(), v.integer());
const uint64 = v.pipe(v.number(), v.integer(), v.minValue(0));
const absPath = v.pipe(v.string(), v.startsWith("/", "must be an absolute path"));
const stringList = v.array(v.string());
const anyObject = v.record(v.string(), v.unknown());

const IdMapping = v.object({ containerID: uint32, hostID: uint32, size: uint32 });

export const Mount = v.object({
  destination: v.pipe(v.string(), v.minLength(1, "must not be empty")),
  source: v.optional(v.string()),
  type: v.optional(v.string()),
  options: v.optional(stringList),
  uidMappings: v.optional(v.array(IdMapping)),
  gidMappings: v.optional(v.array(IdMapping)),
});

const Hook = v.object({
  path: absPath,
  args: v.optional(stringList),
  env: v.optional(stringList),
  timeout: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
});

const capList = v.optional(stringList);
const Capabilities = v.object({
  bounding: capList,
  effective: capList,
  permitted: capList,
  inheritable: capList,
  ambient: capList,
});

const Rlimit = v.object({
  type: v.pipe(v.string(), v.startsWith("RLIMIT_")),
  soft: uint64,
  hard: uint64,
});

const Process = v.object({
  terminal: v.optional(v.boolean()),
  consoleSize: v.optional(v.object({ height: uint32, width: uint32 })),
  user: v.object({
    uid: uint32,
    gid: uint32,
    umask: v.optional(uint32),
    additionalGids: v.optional(v.array(uint32)),
    username: v.optional(v.string()),
  }),
  args: v.pipe(stringList, v.minLength(1, "must name the program to run")),
  commandLine: v.optional(v.string()),
  env: v.optional(v.array(v.pipe(v.string(), v.includes("=", "must be KEY=VALUE")))),
  cwd: absPath,
  capabilities: v.optional(Capabilities),
  rlimits: v.optional(v.array(Rlimit)),
  noNewPrivileges: v.optional(v.boolean()),
  apparmorProfile: v.optional(v.string()),
  oomScoreAdj: v.optional(v.pipe(v.number(), v.integer(), v.minValue(-1000), v.maxValue(1000))),
  selinuxLabel: v.optional(v.string()),
  ioPriority: v.optional(
    v.object({
      class: v.picklist(["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"]),
      priority: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(7)),
    }),
  ),
  scheduler: v.optional(
    v.object({
      policy: v.picklist([
        "SCHED_OTHER",
        "SCHED_FIFO",
        "SCHED_RR",
        "SCHED_BATCH",
        "SCHED_ISO",
        "SCHED_IDLE",
        "SCHED_DEADLINE",
      ]),
      nice: v.optional(v.pipe(v.number(), v.integer(), v.minValue(-20), v.maxValue(19))),
      priority: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(99))),
      flags: v.optional(
        v.array(
          v.picklist([
            "SCHED_FLAG_RESET_ON_FORK",
            "SCHED_FLAG_RECLAIM",
            "SCHED_FLAG_DL_OVERRUN",
            "SCHED_FLAG_KEEP_POLICY",
            "SCHED_FLAG_KEEP_PARAMS",
            "SCHED_FLAG_UTIL_CLAMP_MIN",
            "SCHED_FLAG_UTIL_CLAMP_MAX",
          ]),
        ),
      ),
      runtime: v.optional(uint64),
      deadline: v.optional(uint64),
      period: v.optional(uint64),
    }),
  ),
  execCPUAffinity: v.optional(v.object({ initial: v.optional(v.string()), final: v.optional(v.string()) })),
});

export const NamespaceType = v.picklist(["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"]);
const Namespace = v.object({ type: NamespaceType, path: v.optional(absPath) });

const DeviceRule = v.object({
  allow: v.boolean(),
  type: v.optional(v.picklist(["a", "c", "b"])),
  major: v.optional(v.nullable(int64)),
  minor: v.optional(v.nullable(int64)),
  access: v.optional(v.pipe(v.string(), v.regex(/^[rwm]*$/, "must be made of r, w and m"))),
});

const Resources = v.object({
  devices: v.optional(v.array(DeviceRule)),
  memory: v.optional(anyObject),
  cpu: v.optional(anyObject),
  pids: v.optional(anyObject),
  blockIO: v.optional(anyObject),
  hugepageLimits: v.optional(v.array(v.unknown())),
  network: v.optional(anyObject),
  rdma: v.optional(anyObject),
  unified: v.optional(anyObject),
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

const Linux = v.object({
  namespaces: v.optional(v.array(Namespace)),
  uidMappings: v.optional(v.array(IdMapping)),
  gidMappings: v.optional(v.array(IdMapping)),
  timeOffsets: v.optional(
    v.record(
      v.picklist(["monotonic", "boottime"]),
      v.object({
        secs: int64,
        nanosecs: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(999999999)),
      }),
    ),
  ),
  devices: v.optional(
    v.array(
      v.object({
        type: v.picklist(["c", "b", "u", "p"]),
        path: absPath,
        major: v.optional(int64),
        minor: v.optional(int64),
        fileMode: v.optional(uint32),
        uid: v.optional(uint32),
        gid: v.optional(uint32),
      }),
    ),
  ),
  netDevices: v.optional(anyObject),
  cgroupsPath: v.optional(v.string()),
  resources: v.optional(Resources),
  intelRdt: v.optional(anyObject),
  memoryPolicy: v.optional(
    v.object({
      mode: v.picklist([
        "MPOL_DEFAULT",
        "MPOL_PREFERRED",
        "MPOL_BIND",
        "MPOL_INTERLEAVE",
        "MPOL_LOCAL",
        "MPOL_PREFERRED_MANY",
        "MPOL_WEIGHTED_INTERLEAVE",
      ]),
      nodes: v.optional(v.string()),
      flags: v.optional(
        v.array(v.picklist(["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"])),
      ),
    }),
  ),
  sysctl: v.optional(v.record(v.string(), v.string())),
  seccomp: v.optional(anyObject),
  rootfsPropagation: v.optional(Propagation),
  maskedPaths: v.optional(v.array(absPath)),
  readonlyPaths: v.optional(v.array(absPath)),
  mountLabel: v.optional(v.string()),
  personality: v.optional(
    v.object({ domain: v.picklist(["LINUX", "LINUX32"]), flags: v.optional(stringList) }),
  ),
});

export const Config = v.object({
  ociVersion: v.pipe(
    v.string(),
    v.check(
      ociVersionSupported,
      (i) => `unsupported version ${JSON.stringify(i.input)}; bunc runs 1.0 to 1.3`,
    ),
  ),
  root: v.object({ path: v.pipe(v.string(), v.minLength(1)), readonly: v.optional(v.boolean()) }),
  mounts: v.optional(v.array(Mount)),
  process: Process,
  hostname: v.optional(v.string()),
  domainname: v.optional(v.string()),
  hooks: v.optional(
    v.object({
      prestart: v.optional(v.array(Hook)),
      createRuntime: v.optional(v.array(Hook)),
      createContainer: v.optional(v.array(Hook)),
      startContainer: v.optional(v.array(Hook)),
      poststart: v.optional(v.array(Hook)),
      poststop: v.optional(v.array(Hook)),
    }),
  ),
  annotations: v.optional(v.record(v.string(), v.string())),
  linux: v.optional(Linux),
});

export type Config = v.InferOutput<typeof Config>;
export type Mount = v.InferOutput<typeof Mount>;
export type NamespaceType = v.InferOutput<typeof NamespaceType>;
export type Propagation = v.InferOutput<typeof Propagation>;
export type DeviceRule = v.InferOutput<typeof DeviceRule>;
