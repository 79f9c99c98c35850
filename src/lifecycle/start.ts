// `start`: release a created container's init by reading its exec fifo.
import { readSync, unlinkSync } from "node:fs";
import { debug } from "../diag.ts";
import type { StoredState } from "../oci/state.ts";
import { O } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { openPath } from "../sys/open.ts";
import { isAlive } from "../sys/process.ts";
import { currentStatus } from "./status.ts";
import type { Store } from "./store.ts";

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
