// The caller's fds a container process gets at their own numbers from 3 on:
// systemd's socket activation (LISTEN_FDS) first, then --preserve-fds.
import { readlinkSync } from "node:fs";

export interface PassedFds {
  /** LISTEN_FDS, when LISTEN_PID names us: the container gets them first. */
  readonly listen: number;
  /** fds 3 to 3+total-1 go to the process. */
  readonly total: number;
}

// What the runtime itself holds low: Bun's event loop and the C object.
const OURS = [/^anon_inode:\[(eventpoll|eventfd|signalfd|timerfd)\]$/, /^\/memfd:bunc/];

function count(text: string | undefined, what: string): number {
  if (text === undefined || text === "") return 0;
  if (!/^\d+$/.test(text) || Number(text) > 4096)
    throw new Error(`${what}: ${JSON.stringify(text)} is not a count of fds`);
  return Number(text);
}

/**
 * Reads --preserve-fds and, with `activation`, systemd's LISTEN_FDS, and
 * checks that fds 3 to 3+total-1 are the caller's. Call it before the runtime
 * opens anything, so that none of its own fds (a socket, a namespace) can sit
 * in the range; Bun's own low ones are refused by kind.
 */
export function passedFds(preserve: string | undefined, activation: boolean): PassedFds {
  const listen =
    activation && process.env.LISTEN_PID === String(process.pid)
      ? count(process.env.LISTEN_FDS, "LISTEN_FDS")
      : 0;
  const total = listen + count(preserve, "--preserve-fds");
  for (let fd = 3; fd < 3 + total; fd++) {
    const what = fd < 3 + listen ? "LISTEN_FDS" : "--preserve-fds";
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      throw new Error(`${what}: fd ${fd} is not open`);
    }
    if (OURS.some((re) => re.test(target)))
      throw new Error(`${what}: fd ${fd} is not one the caller passed (it is bunc's own ${target})`);
  }
  return { listen, total };
}
