// Raising a hard rlimit needs CAP_SYS_RESOURCE; say so at create, by the
// field, rather than failing as the init starts. (oom_score_adj may go down
// to a floor /proc does not show: the kernel decides, when the spawn
// child writes it.)
import { readFileSync } from "node:fs";
import type { ProcessPlan } from "../protocol/plan.ts";
import { ConfigError } from "../oci/errors.ts";
import { CAPABILITIES, RLIMITS } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { inInitialUserns } from "../sys/rootless.ts";

function holdsCapability(cap: number): boolean {
  const line = readFileSync("/proc/self/status", "utf8").match(/^CapEff:\s*([0-9a-f]+)$/m);
  return line?.[1] !== undefined && ((BigInt(`0x${line[1]}`) >> BigInt(cap)) & 1n) === 1n;
}

const mayRaiseLimits = () => inInitialUserns() && holdsCapability(CAPABILITIES.CAP_SYS_RESOURCE ?? 24);

export function checkRlimits(rlimits: ProcessPlan["rlimits"]): void {
  // A capability held in a user namespace of its own raises nothing on the host.
  if (!rlimits.length || mayRaiseLimits()) return;
  const current = new BigUint64Array(2);
  rlimits.forEach(([type, , hard], i) => {
    check(sys.bunc_getrlimit(type, current), "getrlimit");
    const now = current[1] ?? 0n;
    if (BigInt(hard) > now) {
      const name = Object.keys(RLIMITS).find((k) => RLIMITS[k] === type) ?? String(type);
      throw new ConfigError(
        `process.rlimits[${i}]`,
        `raising the hard limit of ${name} from ${now} to ${hard} needs CAP_SYS_RESOURCE, which bunc does not hold here`,
      );
    }
  });
}
