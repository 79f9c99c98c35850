// What the runtime tells its init: every value already decided, so the init
// only acts. Written by plan/, read by init/ and rootfs/. Every step names
// the config field it comes from, so that an error in the init does too.
import type { HookSpec } from "../sys/hookProcess.ts";

interface FromField {
  /** The JSON path of the config field this comes from, e.g. "mounts[3]". */
  readonly field: string;
}

export type RootfsStep = FromField &
  (
    | {
        readonly op: "mount";
        readonly source: string;
        /** Absolute path inside the container. */
        readonly target: string;
        readonly fstype: string;
        readonly flags: number;
        readonly data: string;
        /** Create the target as a file rather than a directory (bind of a file). */
        readonly file: boolean;
        /** tmpcopyup: copy what the covered directory held into the new tmpfs. */
        readonly copyUp?: boolean;
        /**
         * An id-mapped bind: the runtime makes the tree (it needs the host's
         * privileges) before the container exists and sends it as the fd named
         * after this step's field; the init attaches it.
         */
        readonly idmap?: {
          readonly recursive: boolean;
          readonly uidMap: string;
          readonly gidMap: string;
        };
      }
    /** mount_setattr(AT_RECURSIVE) of MOUNT_ATTR_* on the mount at target and all below it. */
    | { readonly op: "setattr"; readonly target: string; readonly set: number; readonly clr: number }
    /** Change flags of the mount at target (bind remount, propagation). */
    | {
        readonly op: "remount";
        readonly target: string;
        readonly flags: number;
        /** Flags the config clears explicitly: a bind remount otherwise keeps what the mount has. */
        readonly clear?: number;
      }
    | { readonly op: "symlink"; readonly target: string; readonly path: string }
  );

/** CPUs an affinity mask covers (the mask the final act passes has this many bits). */
export const MAX_CPUS = 1024;
/** NUMA nodes a memory policy mask covers. */
export const MAX_NODES = 1024;

/** The runtime-spec's container process state, sent with a seccomp listener fd. */
interface ContainerProcessState {
  readonly ociVersion: string;
  readonly fds: readonly string[];
  /** The init's pid as the runtime sees it: filled in once the init exists. */
  readonly pid: number;
  readonly metadata?: string;
  readonly state: {
    readonly ociVersion: string;
    readonly id: string;
    readonly status: string;
    readonly pid: number;
    readonly bundle: string;
    readonly annotations: Readonly<Record<string, string>>;
  };
}

export interface SeccompPlan {
  /** struct sock_filter[], base64. */
  readonly filter: string;
  readonly flags: number;
  /** Loaded before the credentials change (the config has no no_new_privs, so CAP_SYS_ADMIN is needed). */
  readonly early: boolean;
  /** SCMP_ACT_NOTIFY: where the listener fd goes (the runtime connects; the init gets the socket). */
  readonly notify: { readonly listenerPath: string; readonly state: ContainerProcessState } | null;
}

export interface ProcessPlan {
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
  readonly umask: number | null;
  /** bounding, effective, permitted, inheritable, ambient as decimal strings of 64-bit masks. */
  readonly caps: readonly [string, string, string, string, string];
  readonly noNewPrivileges: boolean;
  /** [resource, soft, hard], limits as decimal strings (RLIM_INFINITY does not fit a double). */
  readonly rlimits: readonly (readonly [number, string, string])[];
  readonly terminal: boolean;
  readonly consoleSize: { readonly rows: number; readonly cols: number } | null;
  readonly oomScoreAdj: number | null;
  readonly personality: number | null;
  readonly ioprio: number | null;
  /** struct sched_attr fields: policy, flags, nice, priority, runtime, deadline, period (decimal strings). */
  readonly sched: readonly string[] | null;
  readonly cpusInitial: readonly number[] | null;
  readonly cpusFinal: readonly number[] | null;
  /** set_mempolicy: mode with its flags, and the nodes. */
  readonly mempolicy: { readonly mode: number; readonly nodes: readonly number[] } | null;
  /** Name of the session keyring to make and join (the container id), or null for --no-new-keyring. */
  readonly keyring: string | null;
  readonly seccomp: SeccompPlan | null;
}

export interface InitPlan {
  readonly rootfs: string;
  /** --no-pivot: move the rootfs onto / and chroot, for roots on a ramdisk where pivot_root fails. */
  readonly noPivot: boolean;
  /** MS_* propagation for "/" of the new mount namespace (rslave unless the config says). */
  readonly rootPropagation: number;
  /** linux.rootfsPropagation, applied again to the new "/" after pivot_root. */
  readonly configuredPropagation: number | null;
  readonly readonlyRoot: boolean;
  /**
   * The root is the host's own /: a recursive copy of it is attached at this
   * empty directory (the runtime's, in the container's state) and used as
   * the root, since pivot_root cannot take the root it is called from.
   */
  readonly hostRootStage: string | null;
  /** overlayfs options: the root is this stack, mounted on rootfs by the init (annotation bunc.rootfs.overlay). */
  readonly rootOverlay: string | null;
  readonly steps: readonly RootfsStep[];
  /** Create the default /dev nodes and links (no bind mount of /dev). */
  readonly setupDev: boolean;
  /** linux.devices: mode holds the S_IF* type bits. */
  readonly devices: readonly (FromField & {
    readonly path: string;
    readonly mode: number;
    readonly major: number;
    readonly minor: number;
    readonly uid: number;
    readonly gid: number;
  })[];
  readonly hostname: string | null;
  /** [config key, path under /proc, value]: written from the container's namespaces. */
  readonly sysctl: readonly (readonly [string, string, string])[];
  /** The LSM labels of the next execve (process.apparmorProfile, selinuxLabel). */
  readonly execLabels: readonly { readonly file: string; readonly value: string; readonly what: string }[];
  readonly domainname: string | null;
  readonly maskedPaths: readonly string[];
  readonly readonlyPaths: readonly string[];
  /** The fds the runtime sends after the plan, in this order. */
  readonly fds: readonly InitFd[];
  readonly newCgroupns: boolean;
  /**
   * Engines look for the init in its cgroup before start: its main thread
   * writes "0" into the v1 tasks files it joins late as soon as it has
   * them, which moves that thread alone and takes no global lock (a pid
   * written by the runtime would: ~2 ms a hierarchy here).
   */
  readonly joinEarly: boolean;
  /** A new network namespace, whose loopback the init brings up as runc and crun do. */
  readonly newNetns: boolean;
  readonly capLast: number;
  readonly process: ProcessPlan;
  /** OCI hooks the init runs: createContainer before pivot_root, startContainer before the final act. */
  readonly hooks: {
    readonly createContainer: readonly HookSpec[];
    readonly startContainer: readonly HookSpec[];
  };
  /** Stop before pivot_root until the runtime has run its prestart and createRuntime hooks. */
  readonly runtimeHooks: boolean;
  /** The state the init's hooks read, but for status and pid, which it fills in. */
  readonly hookState: HookStateBase;
}

/** The fields of the state JSON hooks read that do not change with the stage. */
export interface HookStateBase {
  readonly ociVersion: string;
  readonly id: string;
  readonly bundle: string;
  readonly annotations: Readonly<Record<string, string>>;
}

/**
 * fds the init finds in place: the channel to the runtime, the console
 * socket, the C object's sealed memfd; after the `passed` fds of the caller
 * that the container process gets from 3 on.
 */
export function initFds(passed: number): { channel: number; console: number; lib: number } {
  return { channel: 3 + passed, console: 4 + passed, lib: 5 + passed };
}

/** An fd the runtime sends the init over the channel, by what it is. */
export type InitFd =
  /** The container's state directory (O_PATH), holding exec.fifo: the init may not reach it by path. */
  | { readonly kind: "stateDir" }
  /** A cgroup file the init writes "0" into just before execve (it may not be allowed to open it). */
  | { readonly kind: "cgroupJoin"; readonly file: string }
  /** The detached id-mapped tree of the mount step with this field. */
  | { readonly kind: "idmapTree"; readonly field: string }
  /** A socket connected to linux.seccomp.listenerPath. */
  | { readonly kind: "seccompListener" }
  /**
   * The waiter (ffi/waiter/) in a sealed memfd: the init execs it to wait
   * for `start` in its place. Sent when no startContainer hook has to run
   * after `start`, which only the init can run.
   */
  | { readonly kind: "waiter" };

/** What the init tells the runtime: ready, failed, or stopped before pivot_root for the runtime's hooks. */
export type InitReply =
  | { readonly ready: true }
  | { readonly error: string }
  | { readonly runtimeHooks: true };
/** The runtime's answer to runtimeHooks: go on. */
export type RuntimeHooksDone = { readonly go: true };
