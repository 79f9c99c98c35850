// Commands run by the benchmark, timed from spawn to exit, output captured.
import { closeSync, fstatSync, openSync, readSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Result {
  ms: number;
  code: number | null;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  maxRssBytes: number;
}

export class CommandError extends Error {}

let captureSeq = 0;

/**
 * An unlinked scratch file for a command's output. Not a pipe: `create` hands
 * its stdio on to the container process, so a pipe would not see EOF (and
 * spawnSync would not return) until the container died.
 */
function captureFd(): number {
  const path = join(tmpdir(), `.bunc-bench-${process.pid}-${captureSeq++}`);
  const fd = openSync(path, "w+", 0o600);
  unlinkSync(path);
  return fd;
}

function drain(fd: number): string {
  const buf = Buffer.alloc(fstatSync(fd).size);
  readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  return buf.toString();
}

/** Runs argv synchronously; the timed span is just the spawn-to-exit of the command. */
export function sh(argv: string[]): Result {
  const out = captureFd();
  const err = captureFd();
  const t0 = process.hrtime.bigint();
  const r = Bun.spawnSync(argv, { stdin: "ignore", stdout: out, stderr: err });
  const t1 = process.hrtime.bigint();
  return {
    ms: Number(t1 - t0) / 1e6,
    code: r.exitCode,
    signal: r.signalCode === undefined || r.signalCode === null ? undefined : String(r.signalCode),
    stdout: drain(out),
    stderr: drain(err),
    maxRssBytes: r.resourceUsage.maxRSS,
  };
}

export function describe(argv: string[], r: Result): string {
  const how = r.signal ? `signal ${r.signal}` : `exit code ${r.code}`;
  return `command failed (${how}): ${argv.join(" ")}\n  stderr: ${r.stderr.trim() || "(empty)"}\n  stdout: ${r.stdout.trim() || "(empty)"}`;
}

export function must(argv: string[]): Result {
  const r = sh(argv);
  if (r.code !== 0) throw new CommandError(describe(argv, r));
  return r;
}

export function which(name: string): string | null {
  const r = sh(["which", name]);
  return r.code === 0 ? r.stdout.trim() : null;
}
