// start, kill and delete of an existing container.
import { readSync, unlinkSync } from "node:fs";
import { constants } from "node:os";
import * as v from "valibot";
import { cgroupPids, destroyCgroup, killCgroup } from "../cgroups/manager.ts";
import { debug } from "../debug.ts";
import { type Remains, Remains as RemainsSchema, type Status, type StoredState } from "../spec/state.ts";
import { ERRNO, O } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { openPath } from "../sys/open.ts";

import { currentStatus, isAlive } from "./status.ts";
import { ContainerNotFound, DamagedState, type Store } from "./store.ts";

/** Releases a created container's init by reading its exec fifo. */
export function startContainer(store: Store, id: string): StoredState {
  const lock = store.lock(id);
  try {
    const { state, status } = currentStatus(store, id);
    if (status !== "created") throw new Error(`cannot start container ${id}: it is ${status}, not created`);
    const fifo = store.fifo(id);
    const fd = openPath(fifo, O.RDONLY | O.NONBLOCK, `open ${fifo}`);
    try {
      // The init opens the other end as soon as we have, and writes one byte.
      while (check(sys.bunc_poll_in(fd, 100), "poll exec fifo") === 0) {
        if (!isAlive(state.pid, state.pidStartTime))
          throw new Error(`container ${id} exited before it was started`);
      }
      const byte = Buffer.alloc(1);
      if (readSync(fd, byte, 0, 1, null) !== 1)
        throw new Error(`container ${id} exited before it was started`);
    } finally {
      sys.bunc_close(fd);
    }
    unlinkSync(fifo);
    debug(`started ${id}`);
    return state;
  } finally {
    lock.release();
  }
}

/** A signal given as a name (with or without SIG) or a number. */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
    const n = (constants.signals as Record<string, number>)[name];
    if (n !== undefined) return n;
  }
  throw new Error(`invalid signal ${JSON.stringify(text)}`);
}

function signalAll(state: Remains, signal: number): void {
  if (signal === 9) killCgroup(state.cgroup);
  const pids = new Set(cgroupPids(state.cgroup));
  // A created container's init joins its cgroup only when it starts.
  if (isAlive(state.pid, state.pidStartTime)) pids.add(state.pid);
  for (const pid of pids) {
    const rc = sys.bunc_kill(pid, signal);
    if (rc < 0 && rc !== -ERRNO.ESRCH) check(rc, `kill ${pid}`);
  }
}

export function killContainer(store: Store, id: string, signal: number, all: boolean): void {
  const lock = store.lock(id);
  try {
    const { state, status } = currentStatus(store, id);
    if (status === "stopped" || status === "creating")
      throw new Error(`cannot kill container ${id}: it is ${status}`);
    if (all) signalAll(state, signal);
    else check(sys.bunc_kill(state.pid, signal), `kill container ${id}`);
  } finally {
    lock.release();
  }
}

async function waitGone(state: Remains): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (!isAlive(state.pid, state.pidStartTime) && cgroupPids(state.cgroup).length === 0) return;
    await Bun.sleep(i < 20 ? 1 : 10);
  }
  throw new Error(`processes of container ${state.id} did not exit after SIGKILL`);
}

/** --force on a state.json bunc cannot read (another version wrote it): end what it names. */
async function deleteDamaged(store: Store, id: string, raw: unknown): Promise<void> {
  const parsed = v.safeParse(RemainsSchema, { ...(raw as object), id });
  const state: Remains = parsed.success
    ? parsed.output
    : { id, pid: 0, pidStartTime: "", cgroup: { path: "", dirs: [] } };
  signalAll(state, 9);
  await waitGone(state);
  await destroyCgroup(state.cgroup);
  store.remove(id);
}

/** Removes a stopped container; a created one is killed first, a running one only with force. */
export async function deleteContainer(store: Store, id: string, force: boolean): Promise<void> {
  let lock: ReturnType<Store["lock"]>;
  try {
    lock = store.lock(id);
  } catch (e) {
    // As with runc, --force makes delete idempotent: engines retry it.
    if (force && e instanceof ContainerNotFound) return;
    throw e;
  }
  try {
    let state: StoredState;
    let status: Status;
    try {
      ({ state, status } = currentStatus(store, id));
    } catch (e) {
      // Holding the lock, a directory without state can only be a create
      // that died before writing any: nothing else of it exists.
      if (e instanceof ContainerNotFound) {
        store.remove(id);
        return;
      }
      if (!(e instanceof DamagedState) || !force) throw e;
      await deleteDamaged(store, id, e.raw);
      return;
    }
    if (status === "creating") throw new Error(`cannot delete container ${id}: it is being created`);
    if (status === "running" && !force) {
      throw new Error(`cannot delete container ${id} that is not stopped: ${status} (use --force)`);
    }
    // Without a pid namespace, processes can outlive the init: kill the rest too.
    signalAll(state, 9);
    await waitGone(state);
    debug(`processes of ${id} gone`);
    await destroyCgroup(state.cgroup);
    store.remove(id);
    debug(`deleted ${id}`);
  } finally {
    lock.release();
  }
}
