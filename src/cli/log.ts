// Errors and debug lines, to stderr and, with --log, to a file in runc's
// format: containerd and podman read the last error from that file.
import { appendFileSync, writeSync } from "node:fs";
import { globals } from "./options.ts";

type Level = "debug" | "info" | "warning" | "error";

/** Where bunc's own messages go: stderr, unless a detached run gave its stderr away. */
let stderr = 2;
export function setStderr(fd: number): void {
  stderr = fd;
}

function line(level: Level, msg: string): string {
  const time = new Date().toISOString();
  if (globals.logFormat === "json") return `${JSON.stringify({ level, msg, time })}\n`;
  return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

function toFile(level: Level, msg: string): void {
  if (!globals.log) return;
  try {
    appendFileSync(globals.log, line(level, msg));
  } catch {
    // The log is best effort; the error still reaches stderr.
  }
}

export function logError(msg: string): void {
  writeSync(stderr, `bunc: ${msg}\n`);
  toFile("error", msg);
}

export function logWarning(msg: string): void {
  writeSync(stderr, `bunc: warning: ${msg}\n`);
  toFile("warning", msg);
}

export function logDebug(msg: string): void {
  if (!globals.debug) return;
  writeSync(stderr, line("debug", msg));
  toFile("debug", msg);
}
