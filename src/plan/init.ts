// Everything the init is told: the rootfs steps, devices, names, sysctls,
// labels, the process, and the fds it will be sent.
import { readFileSync } from "node:fs";
import type { Config } from "../oci/config.ts";
import type { CgroupState } from "../oci/state.ts";
import type { InitFd, InitPlan, RootfsStep } from "../protocol/plan.ts";
import { CLONE, MS } from "../sys/constants.ts";
import { planDevices } from "./devices.ts";
import { planExecLabels } from "./lsm.ts";
import { planMounts } from "./mounts.ts";
import { PROPAGATION } from "./mountOptions.ts";
import type { NamespacePlan } from "./namespaces.ts";
import { planProcess } from "./process.ts";
import { planRootOverlay } from "./rootOverlay.ts";
import { planSeccomp } from "./seccomp.ts";
import { planSysctl } from "./sysctl.ts";

export interface InitInputs {
  readonly config: Config;
  readonly bundle: string;
  readonly rootfs: string;
  readonly cgroup: CgroupState;
  readonly namespaces: NamespacePlan;
  /** The cgroup files the init joins late (Cgroup.joinPlan). */
  readonly cgroupJoin: readonly string[];
  /** The init's main thread joins the v1 ones at once, too (Cgroup.joinPlan). */
  readonly joinEarly: boolean;
  /** Where compiled seccomp filters are kept (the state root), or null for none. */
  readonly cacheRoot: string | null;
  /** create's --no-pivot and --no-new-keyring, and the container id the keyring is named after. */
  readonly id: string;
  readonly noPivot: boolean;
  readonly noNewKeyring: boolean;
  /** The hooks the init takes part in, chosen by the runtime from the config and its plugins. */
  readonly hooks: Pick<InitPlan, "hooks" | "runtimeHooks" | "hookState">;
  /** The NOTIFY_SOCKET relay's directory on the host, mounted at /run/notify, or null. */
  readonly notifyDir: string | null;
  /** Where a copy of the host's / is attached when it is the root (see InitPlan), or null. */
  readonly hostRootStage: string | null;
}

const idmapped = (s: RootfsStep): s is Extract<RootfsStep, { op: "mount" }> => s.op === "mount" && !!s.idmap;

/**
 * Whether the waiter holds the container until `start` (see InitFd). Not
 * when a startContainer hook must run then (only the Bun init runs hooks);
 * not with an AppArmor or SELinux exec label, which applies to the next
 * execve, the waiter's, instead of the container's program; nor in a user
 * namespace: a program executed in one is open to ptrace by whoever has
 * CAP_SYS_PTRACE there (the kernel judges by the namespace of the exec, not
 * dumpability), and the waiting init holds host fds. The Bun init was
 * executed outside it.
 */
export const usesWaiter = ({ hooks, namespaces }: InitInputs, execLabels: readonly unknown[]) =>
  hooks.hooks.startContainer.length === 0 &&
  execLabels.length === 0 &&
  !namespaces.userns &&
  !namespaces.joinsUserns;

export function planInit(inputs: InitInputs): InitPlan {
  const { config, bundle, rootfs, cgroup, namespaces } = inputs;
  const { steps, devBound } = planMounts(config, bundle, cgroup, namespaces, inputs.notifyDir);
  const propagation = config.linux?.rootfsPropagation;
  const seccomp = planSeccomp(config, inputs.id, bundle, inputs.cacheRoot);
  const execLabels = planExecLabels(config);
  const fds: InitFd[] = [
    { kind: "stateDir" },
    ...inputs.cgroupJoin.map((file): InitFd => ({ kind: "cgroupJoin", file })),
    ...steps.filter(idmapped).map((s): InitFd => ({ kind: "idmapTree", field: s.field })),
    ...(seccomp?.notify ? [{ kind: "seccompListener" } as const] : []),
    ...(usesWaiter(inputs, execLabels) ? [{ kind: "waiter" } as const] : []),
  ];
  return {
    rootfs,
    noPivot: inputs.noPivot,
    rootPropagation: propagation ? (PROPAGATION[propagation] ?? 0) : MS.SLAVE | MS.REC,
    configuredPropagation: propagation ? (PROPAGATION[propagation] ?? 0) : null,
    readonlyRoot: config.root.readonly ?? false,
    hostRootStage: inputs.hostRootStage,
    rootOverlay: planRootOverlay(config),
    steps,
    setupDev: !devBound,
    devices: planDevices(config),
    hostname: config.hostname ?? null,
    sysctl: planSysctl(config),
    execLabels,
    domainname: config.domainname ?? null,
    maskedPaths: config.linux?.maskedPaths ?? [],
    readonlyPaths: config.linux?.readonlyPaths ?? [],
    fds,
    newCgroupns: namespaces.newCgroupns,
    joinEarly: inputs.joinEarly,
    newNetns: (namespaces.cloneFlags & CLONE.NEWNET) !== 0,
    capLast: capLast(),
    process: planProcess(config, inputs.noNewKeyring ? null : inputs.id, seccomp),
    ...inputs.hooks,
  };
}

function capLast(): number {
  return Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8"));
}
