// process.ioPriority, process.scheduler, process.execCPUAffinity and
// linux.personality -> the values the final C act sets on the thread that
// execs (all of them are per thread, or carried over execve).
import { MAX_CPUS, MAX_NODES, type ProcessPlan } from "../protocol/plan.ts";
import type { Config } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";
import { u64 } from "../sys/abi.ts";
import {
  IOPRIO_CLASS,
  MPOL_FLAG,
  MPOL_MODE,
  PERSONALITY,
  SCHED_FLAG,
  SCHED_POLICY,
} from "../sys/constants.ts";

const IOPRIO_CLASS_SHIFT = 13;

type SchedPlan = Pick<
  ProcessPlan,
  "personality" | "ioprio" | "sched" | "cpusInitial" | "cpusFinal" | "mempolicy"
>;

/** CPU or NUMA node lists: "0-3,7" -> [0, 1, 2, 3, 7] */
function parseIdList(list: string, where: string, max = MAX_CPUS): number[] {
  const cpus = new Set<number>();
  for (const part of list.split(",")) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) throw new ConfigError(where, `${JSON.stringify(list)} is not a list like "0-3,7"`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to >= max)
      throw new ConfigError(where, `${JSON.stringify(part)} is not a range below ${max}`);
    for (let c = from; c <= to; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

export function planSched(config: Config): SchedPlan {
  const p = config.process;
  const personality = config.linux?.personality;
  if (personality?.flags?.length) {
    throw new ConfigError(
      "linux.personality.flags",
      "no personality flags are defined by the runtime-spec; bunc takes none",
    );
  }
  const s = p.scheduler;
  const sched = s
    ? [
        SCHED_POLICY[s.policy],
        (s.flags ?? []).reduce((f, name) => f | SCHED_FLAG[name], 0),
        s.nice ?? 0,
        s.priority ?? 0,
      ]
        .map(String)
        .concat([s.runtime, s.deadline, s.period].map((n) => u64(n ?? 0).toString()))
    : null;
  const affinity = p.execCPUAffinity;
  return {
    personality: personality ? PERSONALITY[personality.domain] : null,
    ioprio: p.ioPriority
      ? (IOPRIO_CLASS[p.ioPriority.class] << IOPRIO_CLASS_SHIFT) | p.ioPriority.priority
      : null,
    sched,
    cpusInitial: affinity?.initial ? parseIdList(affinity.initial, "process.execCPUAffinity.initial") : null,
    cpusFinal: affinity?.final ? parseIdList(affinity.final, "process.execCPUAffinity.final") : null,
    mempolicy: planMempolicy(config),
  };
}

function planMempolicy(config: Config): SchedPlan["mempolicy"] {
  const m = config.linux?.memoryPolicy;
  if (!m) return null;
  const nodes = m.nodes ? parseIdList(m.nodes, "linux.memoryPolicy.nodes", MAX_NODES) : [];
  const noNodes = m.mode === "MPOL_DEFAULT" || m.mode === "MPOL_LOCAL";
  if (noNodes && nodes.length) throw new ConfigError("linux.memoryPolicy.nodes", `${m.mode} takes no nodes`);
  if (!noNodes && m.mode !== "MPOL_PREFERRED" && !nodes.length) {
    throw new ConfigError("linux.memoryPolicy.nodes", `${m.mode} needs nodes`);
  }
  const flags = (m.flags ?? []).reduce((f, name) => f | MPOL_FLAG[name], 0);
  return { mode: MPOL_MODE[m.mode] | flags, nodes };
}
