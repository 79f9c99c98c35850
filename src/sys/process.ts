// Processes by pid, safe against pid reuse: a process is known by its pid
// and its start time. One way to wait for a process or a condition.
import { existsSync, readFileSync } from "node:fs";
import { sys } from "./lib.ts";

/** Start time of a live (not zombie) process, or null. */
export function processStartTime(pid: number): string | null {
  // Dead processes are the common case while waiting: no exception for them.
  if (pid <= 0 || !existsSync(`/proc/${pid}/stat`)) return null;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // Fields after the command name, which may itself hold spaces and ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (rest[0] === "Z" || rest[0] === "X") return null;
  return rest[19] ?? null;
}

/** The pid a process has in its own pid namespace (the last of NSpid), or null once it is gone. */
export function pidInItsNamespace(pid: number): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^NSpid:\s*(.*)$/m);
    const last = line?.[1]?.trim().split(/\s+/).at(-1);
    return last === undefined ? null : Number(last);
  } catch {
    return null;
  }
}

export const isAlive = (pid: number, startTime: string) => processStartTime(pid) === startTime;

/**
 * Polls until done() holds, sleeping 1 ms at first and 10 ms later;
 * false when `ms` pass first.
 */
export async function waitUntil(done: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  for (let i = 0; ; i++) {
    if (done()) return true;
    if (performance.now() >= end) return false;
    await Bun.sleep(i < 20 ? 1 : 10);
  }
}

/**
 * Reaps our child pid once it has exited: its wait status; null while it
 * runs; "gone" when it is no child of ours (or was reaped already).
 */
export function reap(pid: number): number | "gone" | null {
  const status = new Int32Array(1);
  const rc = sys.bunc_reap(pid, status);
  if (rc === 1) return status[0] ?? 0;
  return rc < 0 ? "gone" : null;
}

/** Kills our child pid and reaps it; one stuck in the kernel is given up on after `ms`. */
export async function killAndReap(pid: number, ms = 5000): Promise<void> {
  sys.bunc_kill(pid, 9);
  await waitUntil(() => {
    const r = reap(pid);
    return r === "gone" ? processStartTime(pid) === null : r !== null;
  }, ms);
}
