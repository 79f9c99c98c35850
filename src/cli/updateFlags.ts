// runc's `update` flags, each one field of linux.resources.
import { Resources } from "../oci/config.ts";
import { checked } from "../oci/checked.ts";
import { ConfigError } from "../oci/errors.ts";

type Kind = "bytes" | "int" | "list";

/** flag -> [group, field, how its value is read] */
const FIELDS = {
  "blkio-weight": ["blockIO", "weight", "int"],
  "cpu-period": ["cpu", "period", "int"],
  "cpu-quota": ["cpu", "quota", "int"],
  "cpu-share": ["cpu", "shares", "int"],
  "cpu-rt-period": ["cpu", "realtimePeriod", "int"],
  "cpu-rt-runtime": ["cpu", "realtimeRuntime", "int"],
  "cpuset-cpus": ["cpu", "cpus", "list"],
  "cpuset-mems": ["cpu", "mems", "list"],
  "kernel-memory": ["memory", "kernel", "bytes"],
  "kernel-memory-tcp": ["memory", "kernelTCP", "bytes"],
  memory: ["memory", "limit", "bytes"],
  "memory-reservation": ["memory", "reservation", "bytes"],
  "memory-swap": ["memory", "swap", "bytes"],
  "pids-limit": ["pids", "limit", "int"],
} as const satisfies Record<string, readonly [string, string, Kind]>;

// Intel RDT is a resctrl feature, not a cgroup one; bunc has none of it.
const REFUSED = ["l3-cache-schema", "mem-bw-schema"] as const;

type Flag = keyof typeof FIELDS;

export const UPDATE_FLAGS = Object.fromEntries(
  [...Object.keys(FIELDS), ...REFUSED].map((name) => [name, { type: "string", description: describe(name) }]),
) as Record<Flag | (typeof REFUSED)[number], { type: "string"; description: string }>;

function describe(name: string): string {
  if ((REFUSED as readonly string[]).includes(name)) return "Intel RDT (not supported by bunc)";
  const [group, field, kind] = FIELDS[name as Flag];
  return `linux.resources.${group}.${field}${kind === "bytes" ? " (bytes; k, m, g, t suffixes; -1 for no limit)" : ""}`;
}

const UNITS: Record<string, bigint> = {
  "": 1n,
  k: 1n << 10n,
  m: 1n << 20n,
  g: 1n << 30n,
  t: 1n << 40n,
  p: 1n << 50n,
};

/** A size as runc reads one (docker's RAMInBytes): 512, 64k, 1.5g, 2GiB; -1 is no limit. */
export function parseBytes(flag: string, text: string): bigint {
  if (text.trim() === "-1") return -1n;
  const m = /^(\d+)(?:\.(\d+))?\s*([kmgtp]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new Error(`--${flag}: ${JSON.stringify(text)} is not a size (like 512m or 1g)`);
  const unit = UNITS[(m[3] ?? "").toLowerCase()] ?? 1n;
  const fraction = m[2] ?? "";
  const scale = 10n ** BigInt(fraction.length);
  return (BigInt(`${m[1]}${fraction}`) * unit) / scale;
}

function parseInt64(flag: string, text: string): number | bigint {
  if (!/^-?\d+$/.test(text.trim()))
    throw new Error(`--${flag}: ${JSON.stringify(text)} is not a whole number`);
  const n = BigInt(text.trim());
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** The resources the flags ask for, checked; and which flags were given. */
export function resourcesFromFlags(args: Record<string, unknown>): { resources: Resources; given: string[] } {
  for (const name of REFUSED) {
    if (typeof args[name] === "string") throw new Error(`--${name}: Intel RDT is not supported by bunc`);
  }
  const raw: Record<string, Record<string, unknown>> = {};
  const given: string[] = [];
  for (const [flag, [group, field, kind]] of Object.entries(FIELDS)) {
    const text = args[flag];
    if (typeof text !== "string") continue;
    given.push(flag);
    raw[group] ??= {};
    raw[group][field] =
      kind === "bytes" ? parseBytes(flag, text) : kind === "int" ? parseInt64(flag, text) : text;
  }
  try {
    return { resources: checked(Resources, raw), given };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const flag = Object.entries(FIELDS).find(([, [group, field]]) => e.path === `${group}.${field}`)?.[0];
    throw new Error(`--${flag ?? e.path}: ${e.message.slice(e.path.length + 2)}`);
  }
}
