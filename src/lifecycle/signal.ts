// `kill`: signals by name or number, to the init or to every process of
// the container's cgroup (also what `delete` uses to end a container).
import type { Cgroup } from "../cgroups/cgroup.ts";
import { ERRNO } from "../sys/constants.ts";
import { check, SysError } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { isAlive } from "../sys/process.ts";
import { currentStatus } from "./status.ts";
import type { Store } from "./store.ts";

/** What signalling a container's processes needs: its init and its cgroup. */
export interface Processes {
  readonly pid: number;
  readonly pidStartTime: string;
  readonly cgroup: Cgroup;
}

/**
 * Signals the init and every process of the container's cgroup. SIGKILL
 * goes through cgroup2's cgroup.kill, which no fork can outrun; any other
 * signal, or SIGKILL without cgroup.kill, is sent with the cgroup frozen,
 * so that no process forks a child that misses it. A paused container
 * stays paused, except after SIGKILL: frozen v1 tasks die only once thawed.
 */
export function signalAll(p: Processes, signal: number): void {
  const cg = p.cgroup;
  const killed = signal === 9 && cg.kill();
  const wasFrozen = cg.frozen;
  const freeze = !killed && !wasFrozen && cg.canFreeze;
  if (freeze) cg.setFrozen(true);
  try {
    const pids = new Set(killed ? [] : cg.pids());
    // A created container's init joins its cgroup only when it starts.
    if (isAlive(p.pid, p.pidStartTime)) pids.add(p.pid);
    for (const pid of pids) {
      const rc = sys.bunc_kill(pid, signal);
      if (rc < 0 && rc !== -ERRNO.ESRCH) check(rc, `kill ${pid}`);
    }
  } finally {
    if (freeze || (wasFrozen && signal === 9)) cg.setFrozen(false);
  }
}

/** The cgroup code is loaded only for what needs it (--all, or thawing a paused container). */
export async function killContainer(store: Store, id: string, signal: number, all: boolean): Promise<void> {
  const lock = store.lock(id);
  try {
    const { state, status } = currentStatus(store, id);
    if (status === "creating") throw new Error(`cannot kill container ${id}: it is being created`);
    // As runc: --all still reaches what is left in the cgroup of a stopped
    // container; a plain kill is "container not running", which containerd
    // takes for a process that has already finished.
    if (status === "stopped" && !all)
      throw new Error(`cannot kill container ${id}: container not running (it is stopped)`);
    const cgroup = async () => (await import("./remains.ts")).containerCgroup(id, state.cgroup);
    if (all) signalAll({ ...state, cgroup: await cgroup() }, signal);
    else {
      // Node's kill: no C object to load for the commonest call engines make.
      try {
        process.kill(state.pid, signal);
      } catch (e) {
        // Bun's errno here is positive, Node's negative: its size is the number.
        throw new SysError(Math.abs((e as NodeJS.ErrnoException).errno ?? 5), `kill container ${id}`);
      }
      // A frozen init would not die of it until thawed (runc does the same).
      if (signal === 9 && status === "paused") (await cgroup()).setFrozen(false);
    }
  } finally {
    lock.release();
  }
}
