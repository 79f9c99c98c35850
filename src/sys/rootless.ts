// Whether bunc runs without the host's privileges: as a user other than
// root, or as root of a user namespace that is not the host's (podman's
// rootless mode runs its runtime so). Such a caller owns no cgroup unless
// one was delegated to it, and raises no limit above its own.
import { readFileSync } from "node:fs";

let forced: boolean | undefined;

/** --rootless true|false; auto (the default) decides from the process itself. */
export function setRootless(mode: "true" | "false" | "auto"): void {
  forced = mode === "auto" ? undefined : mode === "true";
}

let initial: boolean | undefined;

/** Whether this process is in the host's user namespace (its uid_map is the identity over every id). */
export function inInitialUserns(): boolean {
  initial ??= /^\s*0\s+0\s+4294967295\s*$/.test(readFileSync("/proc/self/uid_map", "utf8"));
  return initial;
}

export const euid = (): number => process.geteuid?.() ?? 0;

export function rootless(): boolean {
  return forced ?? (euid() !== 0 || !inInitialUserns());
}
