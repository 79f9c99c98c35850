// `start`: release a created container's init by reading its exec fifo, with
// the startContainer hooks (run by the init) and poststart hooks around it.
import { closeSync, openSync, readSync, unlinkSync } from "node:fs";
import { debug } from "../diag.ts";
import type { StoredState } from "../oci/state.ts";
import { O } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { pollIn } from "../sys/libc.ts";
import { isAlive } from "../sys/process.ts";
import { hookState } from "../hooks/state.ts";
import type { Relay } from "./notify.ts";
import { currentStatus } from "./status.ts";
import type { Store } from "./store.ts";

/**
 * After the init's byte: everything it writes until its execve closes the
 * fifo, which is why it failed if anything (a startContainer hook, the
 * final act).
 */
function readUntilExec(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  for (;;) {
    check(pollIn(fd, -1), "poll exec fifo");
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue;
      throw e;
    }
    if (n === 0) return Buffer.concat(chunks).toString("utf8").trim();
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
}

export interface Started {
  readonly state: StoredState;
  /**
   * With a NOTIFY_SOCKET relay: settles once the process has said READY=1
   * (passed on) or has exited; runc's start and run wait for it.
   */
  readonly ready: Promise<void>;
}

/**
 * Releases a created container's init; the hooks of start run around it.
 * What only some starts need (hooks, the notify relay, the cleanup of a
 * failed one) is loaded only then: engines call start for every container.
 */
export async function startContainer(store: Store, id: string): Promise<Started> {
  const lock = store.lock(id);
  let state: StoredState;
  let failed: string;
  let relay: Relay | null = null;
  try {
    const current = currentStatus(store, id);
    state = current.state;
    if (current.status !== "created")
      throw new Error(`cannot start container ${id}: it is ${current.status}, not created`);
    // Bound before the process can run, and say READY=1 at once.
    relay = process.env.NOTIFY_SOCKET ? (await import("./notify.ts")).bindRelay(store, id) : null;
    const fifo = store.fifo(id);
    const fd = openSync(fifo, O.RDONLY | O.NONBLOCK | O.CLOEXEC);
    try {
      // The init opens the other end as soon as we have, and writes one byte.
      while (check(pollIn(fd, 100), "poll exec fifo") === 0) {
        if (!isAlive(state.pid, state.pidStartTime))
          throw new Error(`container ${id} exited before it was started`);
      }
      const byte = Buffer.alloc(1);
      if (readSync(fd, byte, 0, 1, null) !== 1)
        throw new Error(`container ${id} exited before it was started`);
      unlinkSync(fifo);
      // Poststart hooks run once the program runs: wait for the init's execve.
      failed = state.hooks?.startContainer || state.hooks?.poststart ? readUntilExec(fd) : "";
    } finally {
      closeSync(fd);
    }
    debug(`started ${id}`);
  } catch (e) {
    if (relay) sys.bunc_close(relay.fd);
    throw e;
  } finally {
    lock.release();
  }
  if (failed) {
    if (relay) sys.bunc_close(relay.fd);
    // The container is destroyed; its poststop hooks run.
    await (await import("./delete.ts")).deleteContainer(store, id, true);
    throw new Error(`container ${id} did not start: ${failed}`);
  }
  if (state.hooks?.poststart) {
    try {
      const { runStage } = await import("../hooks/run.ts");
      await runStage("poststart", state.hooks.poststart, hookState(state, "running", state.pid), {
        cwd: state.bundle,
        root: store.root,
      });
    } catch (e) {
      // runtime-spec 1.3: a failed poststart hook stops the container.
      const [{ signalAll }, { containerCgroup }] = await Promise.all([
        import("./signal.ts"),
        import("./remains.ts"),
      ]);
      signalAll({ ...state, cgroup: containerCgroup(id, state.cgroup) }, 9);
      if (relay) sys.bunc_close(relay.fd);
      throw e;
    }
  }
  if (!relay) return { state, ready: Promise.resolve() };
  const { relayUntilReady } = await import("./notify.ts");
  return { state, ready: relayUntilReady(relay, state.pid, state.pidStartTime) };
}
