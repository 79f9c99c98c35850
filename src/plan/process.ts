// config.process -> what the final act sets: ids, the five capability sets,
// rlimits and the per-thread attributes (sched.ts).
import { readFileSync } from "node:fs";
import { warn } from "../diag.ts";
import type { Config } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";
import type { ProcessPlan } from "../protocol/plan.ts";
import { u64 } from "../sys/abi.ts";
import { CAPABILITIES, RLIMITS } from "../sys/constants.ts";
import { planSched } from "./sched.ts";

const CAP_SETS = ["bounding", "effective", "permitted", "inheritable", "ambient"] as const;

function capMask(names: readonly string[] | undefined, where: string): bigint {
  let mask = 0n;
  (names ?? []).forEach((name, i) => {
    const bit = CAPABILITIES[name];
    if (bit === undefined)
      throw new ConfigError(`${where}[${i}]`, `unknown capability ${JSON.stringify(name)}`);
    mask |= 1n << BigInt(bit);
  });
  return mask;
}

const capName = (bit: number) => Object.keys(CAPABILITIES).find((k) => CAPABILITIES[k] === bit) ?? `${bit}`;

// The kernel keeps an ambient capability only while it is both permitted
// and inheritable. Debian's `runc spec` (runc 1.1) lists ambient ones with
// no inheritable set; runc then warns that it cannot raise them and goes
// on. bunc does the same, deciding here rather than failing at the raise.
function keptAmbient(ambient: bigint, permitted: bigint, inheritable: bigint): bigint {
  const dropped = ambient & ~(permitted & inheritable);
  for (let bit = 0; dropped >> BigInt(bit); bit++) {
    if ((dropped >> BigInt(bit)) & 1n) {
      warn(
        `process.capabilities.ambient: ${capName(bit)} is not in both the permitted and the inheritable set; the kernel keeps no such ambient capability, so it is left out (as runc does)`,
      );
    }
  }
  return ambient & ~dropped;
}

/**
 * Without a user namespace of its own, the process can only be given
 * capabilities the runtime holds: capset would refuse the rest after
 * `start`. Found at create instead, naming them (a VM or a parent
 * container may withhold some, like CAP_SYS_RESOURCE here).
 */
export function checkHeldCapabilities(plan: ProcessPlan): void {
  const m = /^CapPrm:\s+([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
  if (!m?.[1]) return;
  const missing = BigInt(plan.caps[2]) & ~BigInt(`0x${m[1]}`);
  if (missing === 0n) return;
  const names: string[] = [];
  for (let bit = 0; missing >> BigInt(bit); bit++)
    if ((missing >> BigInt(bit)) & 1n) names.push(capName(bit));
  throw new ConfigError(
    "process.capabilities.permitted",
    `${names.join(", ")} ${names.length > 1 ? "are" : "is"} not held by bunc on this host, so the kernel would refuse ${names.length > 1 ? "them" : "it"} (capset)`,
  );
}

export function planProcess(
  config: Config,
  keyring: string | null = null,
  seccomp: ProcessPlan["seccomp"] = null,
): ProcessPlan {
  const p = config.process;
  const [bounding, effective, permitted, inheritable, ambient] = CAP_SETS.map((set) =>
    capMask(p.capabilities?.[set], `process.capabilities.${set}`),
  ) as [bigint, bigint, bigint, bigint, bigint];
  const rlimits = (p.rlimits ?? []).map((r, i): [number, string, string] => {
    const type = RLIMITS[r.type];
    if (type === undefined) throw new ConfigError(`process.rlimits[${i}].type`, `unknown resource ${r.type}`);
    if (r.soft > r.hard)
      throw new ConfigError(
        `process.rlimits[${i}]`,
        `soft limit ${r.soft} is above the hard limit ${r.hard}`,
      );
    return [type, u64(r.soft).toString(), u64(r.hard).toString()];
  });
  if (!p.args.length) throw new ConfigError("process.args", "must name the program to run");
  return {
    args: p.args,
    env: p.env ?? [],
    cwd: p.cwd,
    uid: p.user.uid,
    gid: p.user.gid,
    groups: p.user.additionalGids ?? [],
    umask: p.user.umask ?? 0o022,
    caps: [bounding, effective, permitted, inheritable, keptAmbient(ambient, permitted, inheritable)].map(
      String,
    ) as unknown as ProcessPlan["caps"],
    noNewPrivileges: p.noNewPrivileges ?? false,
    rlimits,
    terminal: p.terminal ?? false,
    consoleSize: p.consoleSize ? { rows: p.consoleSize.height, cols: p.consoleSize.width } : null,
    oomScoreAdj: p.oomScoreAdj ?? null,
    keyring,
    seccomp,
    ...planSched(config),
  };
}
