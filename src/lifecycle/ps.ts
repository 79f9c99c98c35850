// `ps`: the container's processes, as the pids containerd's shim reads
// (--format json) or as the host's ps prints them, cut to the container's
// rows (runc's ps.go).
import { isAlive } from "../sys/process.ts";
import { liveContainer } from "./live.ts";
import type { Store } from "./store.ts";

/**
 * The pids of the container's processes: its cgroup's, and its init while
 * it lives, which a created container's init is not in yet (it joins just
 * before execve, on start).
 */
export function containerPids(store: Store, id: string): number[] {
  const { state, cgroup } = liveContainer(store, id);
  const pids = new Set(cgroup.pids());
  if (isAlive(state.pid, state.pidStartTime)) pids.add(state.pid);
  return [...pids].sort((a, b) => a - b);
}

/** Runs the host's ps with the given options (-ef without any); its output, or an error with what it said. */
export function hostPs(args: readonly string[]): string {
  const psArgs = args.length ? args : ["-ef"];
  const r = Bun.spawnSync(["ps", ...psArgs], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const out = r.stdout.toString();
  if (r.exitCode !== 0) {
    const said = (r.stderr.toString() + out).trim().split("\n")[0] ?? "";
    throw new Error(`ps ${psArgs.join(" ")} exited with status ${r.exitCode}${said ? `: ${said}` : ""}`);
  }
  return out;
}

/** The header and the rows of ps output whose PID column is one of pids. */
export function filterPsOutput(output: string, pids: readonly number[]): string {
  const [header = "", ...rows] = output.split("\n");
  const column = header.split(/\s+/).filter(Boolean).indexOf("PID");
  if (column < 0) throw new Error("couldn't find PID field in ps output");
  const wanted = new Set(pids);
  const out = [header];
  for (const row of rows) {
    if (row === "") continue;
    const field = row.split(/\s+/).filter(Boolean)[column] ?? "";
    if (!/^\d+$/.test(field)) throw new Error(`unable to parse pid ${JSON.stringify(field)} in ps output`);
    if (wanted.has(Number(field))) out.push(row);
  }
  return `${out.join("\n")}\n`;
}
