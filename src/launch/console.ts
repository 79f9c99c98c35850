// Terminals: connecting to a caller's console socket, and for `run` in the
// foreground, relaying between our stdio and the container's pty.
import { createReadStream, writeSync } from "node:fs";
import { constants } from "node:os";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { cstr } from "../sys/mem.ts";
import { reap } from "../sys/process.ts";

export function connectConsoleSocket(path: string): number {
  return check(sys.bunc_connect_unix(cstr(path)), `--console-socket: cannot connect to ${path}`);
}

export function consoleSocketPair(): [ours: number, theirs: number] {
  const fds = new Int32Array(2);
  check(sys.bunc_socketpair(fds), "socketpair");
  return [fds[0] ?? -1, fds[1] ?? -1];
}

export function receiveMaster(sock: number): number {
  return check(sys.bunc_recv_fd(sock), "receive the container's pty");
}

/** The caller's terminal size, as process.consoleSize has it; null when stdout is no terminal. */
export function callerWindowSize(): { height: number; width: number } | null {
  const size = new Uint32Array(2);
  return sys.bunc_get_winsize(1, size) === 0 ? { height: size[0] ?? 0, width: size[1] ?? 0 } : null;
}

/**
 * A terminal relayed in the foreground starts at the caller's size, so that
 * the process never sees the pty's 0x0 before the relay copies it.
 */
export function withCallerSize<
  P extends { readonly terminal?: boolean | undefined; readonly consoleSize?: object | undefined },
>(p: P, foreground: boolean): P {
  if (!p.terminal || !foreground || p.consoleSize) return p;
  const size = callerWindowSize();
  return size ? { ...p, consoleSize: size } : p;
}

function copyWindowSize(master: number): void {
  const size = callerWindowSize();
  if (size) sys.bunc_set_winsize(master, size.height, size.width);
}

const FORWARDED = ["SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;

/** Relays stdio to and from the pty until pid exits; returns its wait status. */
export async function relayTerminal(master: number, pid: number): Promise<number> {
  const raw = process.stdin.isTTY === true;
  if (raw) process.stdin.setRawMode(true);
  copyWindowSize(master);
  process.on("SIGWINCH", () => copyWindowSize(master));
  for (const sig of FORWARDED) process.on(sig, () => sys.bunc_kill(pid, constants.signals[sig]));
  process.stdin.on("data", (chunk: Buffer) => {
    try {
      writeSync(master, chunk);
    } catch {}
  });
  const output = createReadStream("", { fd: master, autoClose: false });
  const drained = new Promise<void>((resolve) => {
    output.on("data", (chunk) => writeSync(1, chunk as Buffer));
    output.on("error", () => resolve());
    output.on("end", () => resolve());
  });
  let status = reap(pid);
  for (; status === null; status = reap(pid)) await Bun.sleep(20);
  if (status === "gone") throw new Error(`container process ${pid} is not a child of bunc`);
  // What the process wrote last may still sit in the pty.
  await Promise.race([drained, Bun.sleep(250)]);
  if (raw) process.stdin.setRawMode(false);
  process.stdin.pause();
  output.destroy();
  return status;
}

/** Waits for pid in C, passing on the signals we receive; returns its wait status. */
export function waitForeground(pid: number): number {
  const status = new Int32Array(1);
  check(sys.bunc_wait_forward(pid, status), "wait for the container");
  return status[0] ?? 0;
}

/** Exit code for a wait status: the code, or 128+N when killed by signal N. */
export function exitCodeOf(status: number): number {
  const sig = status & 0x7f;
  return sig === 0 ? (status >> 8) & 0xff : 128 + sig;
}
