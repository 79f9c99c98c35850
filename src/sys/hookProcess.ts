// One OCI hook program run to its end (ffi/hook.c): input on stdin, its
// stdout and stderr captured, its process group killed past the timeout.
// The runtime runs its stages with it, and the init the stages that run
// in the container's namespaces, so it depends on nothing but the C object.
import { closeSync, fstatSync, readSync } from "node:fs";
import { sys } from "./lib.ts";
import { CStrings, cstr, ErrBuf } from "./mem.ts";

/** A hook as the runtime-spec writes one. */
export interface HookSpec {
  readonly path: string;
  readonly args?: readonly string[] | undefined;
  readonly env?: readonly string[] | undefined;
  /** Seconds. */
  readonly timeout?: number | undefined;
}

export interface HookOutcome {
  /** Exit status, or 128 + signal. */
  readonly code: number;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

function readAll(fd: number): string {
  try {
    const buf = Buffer.alloc(fstatSync(fd).size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n <= 0) break;
      got += n;
    }
    return buf.toString("utf8", 0, got);
  } finally {
    closeSync(fd);
  }
}

/** Runs it; throws only when it cannot be started (the message names its path). */
export function runHookProcess(h: HookSpec, input: string, cwd: string | null): HookOutcome {
  const argv = new CStrings(h.args?.length ? h.args : [h.path]);
  // Only the hook's own environment: nothing of ours.
  const envp = new CStrings(h.env ?? []);
  const data = Buffer.from(input);
  const out = new Int32Array(4);
  const err = new ErrBuf();
  const timeoutMs = h.timeout === undefined ? -1 : Math.min(h.timeout * 1000, 0x7fffffff);
  const rc = sys.bunc_run_hook(
    cstr(h.path),
    argv.array,
    envp.array,
    cwd === null ? null : cstr(cwd),
    data.length ? data : null,
    data.length,
    timeoutMs,
    out,
    err.buf,
    err.len,
  );
  if (rc < 0) throw new Error(err.text());
  const [status = 0, stdout = -1, stderr = -1, timedOut = 0] = out;
  const signal = status & 0x7f;
  return {
    code: signal === 0 ? (status >> 8) & 0xff : 128 + signal,
    timedOut: timedOut === 1,
    stdout: readAll(stdout),
    stderr: readAll(stderr),
  };
}

/** Why a hook failed, in one line: how it ended, then the last of its stderr. */
export function hookFailure(stage: string, h: HookSpec, o: HookOutcome): string | null {
  if (!o.timedOut && o.code === 0) return null;
  const how = o.timedOut
    ? `ran past its timeout of ${h.timeout}s and was killed`
    : `exited with status ${o.code}`;
  const said = o.stderr.trim().split("\n").filter(Boolean).slice(-3).join("; ");
  return `${stage} hook ${h.path} ${how}${said ? `: ${said}` : ""}`;
}
