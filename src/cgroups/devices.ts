// Device access rules: the config's linux.resources.devices followed by the
// default allow-list every runtime adds (runc's AllowedDevices).
import type { DeviceRule } from "../oci/config.ts";

export interface DeviceEntry {
  readonly allow: boolean;
  readonly type: "a" | "c" | "b";
  /** -1 means any. */
  readonly major: number;
  readonly minor: number;
  readonly access: string;
}

const any = -1;
const c = (major: number, minor: number, access = "rwm"): DeviceEntry => ({
  allow: true,
  type: "c",
  major,
  minor,
  access,
});

export const DEFAULT_ALLOWED: readonly DeviceEntry[] = [
  c(any, any, "m"),
  { allow: true, type: "b", major: any, minor: any, access: "m" },
  c(1, 3), // null
  c(1, 8), // random
  c(1, 7), // full
  c(5, 0), // tty
  c(1, 5), // zero
  c(1, 9), // urandom
  c(136, any), // /dev/pts/*
  c(5, 2), // ptmx
];

export function deviceEntries(rules: readonly DeviceRule[] | undefined): DeviceEntry[] {
  const fromConfig = (rules ?? []).map(
    (r): DeviceEntry => ({
      allow: r.allow,
      type: r.type ?? "a",
      major: r.major ?? any,
      minor: r.minor ?? any,
      access: r.access || "rwm",
    }),
  );
  return [...fromConfig, ...DEFAULT_ALLOWED];
}

/** The v1 devices.allow / devices.deny line for an entry. */
export function v1Line(e: DeviceEntry): string {
  const n = (x: number) => (x < 0 ? "*" : String(x));
  return `${e.type} ${n(e.major)}:${n(e.minor)} ${e.access}`;
}
