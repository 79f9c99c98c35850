// bunc's own messages: errors, warnings and (with --debug) a trace, through
// consola to stderr, coloured only on a terminal and never with NO_COLOR;
// and with --log to a file in runc's format: containerd and podman read the
// last error from that file. Quiet by default: nothing but errors and
// warnings unless --debug.
import { appendFileSync, writeSync } from "node:fs";
import type { ConsolaInstance, LogObject } from "consola/core";
import { isTerminal } from "../sys/libc.ts";
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

const colour = (code: number, text: string) =>
  isTerminal(stderr) && !("NO_COLOR" in process.env) && process.env.TERM !== "dumb"
    ? `\x1b[${code}m${text}\x1b[0m`
    : text;

/** The line a message is on stderr: scripts match "bunc: " and "bunc: warning: ". */
function render(o: LogObject): string {
  const msg = String(o.args[0]);
  if (o.type === "error") return `${colour(31, "bunc:")} ${msg}\n`;
  if (o.type === "warn") return `bunc: ${colour(33, "warning:")} ${msg}\n`;
  return colour(2, line("debug", msg));
}

let reporter: ConsolaInstance | undefined;

// Made on the first message, so that a quiet command never loads consola.
function consola(): ConsolaInstance {
  reporter ??= (require("consola/core") as typeof import("consola/core")).createConsola({
    level: globals.debug ? 4 : 3,
    reporters: [{ log: (o) => writeSync(stderr, render(o)) }],
  });
  return reporter;
}

export function logError(msg: string): void {
  consola().error(msg);
  toFile("error", msg);
}

export function logWarning(msg: string): void {
  consola().warn(msg);
  toFile("warning", msg);
}

export function logDebug(msg: string): void {
  if (!globals.debug) return;
  consola().debug(msg);
  toFile("debug", msg);
}
