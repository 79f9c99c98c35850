// systemd's sd_notify from inside a container, as runc relays it: when the
// caller has a NOTIFY_SOCKET, create mounts a directory of the container's
// state read-only at /run/notify and points the process at a socket there;
// start binds that socket before it releases the process, and passes what
// the process says on to the caller's socket until READY=1, followed by
// MAINPID (the process's pid on the host, which systemd should watch).
import { chmodSync, existsSync, mkdirSync, readSync, rmSync } from "node:fs";
import { warn } from "../diag.ts";
import type { Config } from "../oci/config.ts";
import { NOTIFY_DIR } from "../plan/notify.ts";
import { check, SysError } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { pollIn } from "../sys/libc.ts";
import { cstr } from "../sys/mem.ts";
import { isAlive } from "../sys/process.ts";
import type { Store } from "./store.ts";

const SOCKET = "notify.sock";

/** The caller's socket (a path, or @ and an abstract name), if it speaks systemd's notify protocol. */
export const hostNotifySocket = (): string | undefined => process.env.NOTIFY_SOCKET || undefined;

export const notifyDir = (store: Store, id: string) => `${store.dir(id)}/notify`;

/** The config with the process pointed at the relay's socket. */
export function withNotifyEnv(config: Config): Config {
  const env = (config.process.env ?? []).filter((e) => !e.startsWith("NOTIFY_SOCKET="));
  return {
    ...config,
    process: { ...config.process, env: [...env, `NOTIFY_SOCKET=${NOTIFY_DIR}/${SOCKET}`] },
  };
}

/** Made once the id is reserved, before the init mounts it; goes with the state. */
export function makeNotifyDir(store: Store, id: string): void {
  const dir = notifyDir(store, id);
  mkdirSync(dir);
  // Reachable by any uid the container's process may have.
  chmodSync(dir, 0o755);
}

export interface Relay {
  readonly fd: number;
  readonly host: string;
}

/**
 * start, before the process runs: the socket it will send to, when it was
 * created with the relay and the caller has a socket to relay to.
 */
export function bindRelay(store: Store, id: string): Relay | null {
  const host = hostNotifySocket();
  const dir = notifyDir(store, id);
  if (!host || !existsSync(dir)) return null;
  const path = `${dir}/${SOCKET}`;
  // Left by a start that failed.
  rmSync(path, { force: true });
  // Any uid of the container may send: the directory above is read-only to it.
  const fd = check(sys.bunc_bind_dgram(cstr(path), 0o777), `NOTIFY_SOCKET: bind ${path}`);
  return { fd, host };
}

// Lines that mean nothing outside the container: its pids, and requests that carry fds.
const LOCAL = /^(MAINPID|BARRIER|FDSTORE|FDSTOREREMOVE|FDNAME|FDPOLL)=/;

/**
 * Passes the process's messages on until READY=1, then MAINPID; returns
 * early when the process exits first, or when the caller's socket cannot
 * be sent to (a warning: the container is not failed for it, and with no
 * one to tell, waiting for READY=1 serves no one). Closes the relay's
 * socket.
 */
export async function relayUntilReady(relay: Relay, pid: number, startTime: string): Promise<void> {
  const buf = Buffer.alloc(8192);
  try {
    for (;;) {
      if (check(pollIn(relay.fd, 0), "poll the NOTIFY_SOCKET relay") === 0) {
        if (!isAlive(pid, startTime)) return;
        await Bun.sleep(10);
        continue;
      }
      const n = readSync(relay.fd, buf, 0, buf.length, null);
      const lines = buf
        .subarray(0, n)
        .toString("utf8")
        .split("\n")
        .filter((l) => l !== "" && !LOCAL.test(l));
      const ready = lines.includes("READY=1");
      if (ready) lines.push(`MAINPID=${pid}`);
      if (lines.length) {
        const msg = Buffer.from(`${lines.join("\n")}\n`);
        const rc = sys.bunc_send_dgram(cstr(relay.host), msg, msg.length);
        if (rc < 0) {
          // A stale socket (ECONNREFUSED): its manager is gone.
          warn(
            `${new SysError(-rc, `NOTIFY_SOCKET: send to ${relay.host}`).message}; no longer passing the container's notifications on`,
          );
          return;
        }
      }
      if (ready) return;
    }
  } finally {
    sys.bunc_close(relay.fd);
  }
}
