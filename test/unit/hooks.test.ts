// Hooks without root: which plugins match a config, the order a stage runs
// them in, the hook runner's outcome and wording, and the log plugin's
// records, file and sockets.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { splitHookArgs, stageOfStatus } from "../../hooks/index.ts";
import { appendRecord } from "../../hooks/log/file.ts";
import { record } from "../../hooks/log/index.ts";
import { toJournal, toSyslog } from "../../hooks/log/socket.ts";
import { matches, type Plugin } from "../../src/hooks/plugins.ts";
import { selectHooks } from "../../src/hooks/select.ts";
import type { Config } from "../../src/oci/config.ts";
import { defaultSpec } from "../../src/oci/default.ts";
import { hookFailure, runHookProcess } from "../../src/sys/hookProcess.ts";

const tmp = mkdtempSync("/tmp/bunc-unit-hooks-");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const config = (edit: (c: Config) => void = () => {}): Config => {
  const c = defaultSpec();
  c.process.args = ["/usr/bin/nginx", "-g", "daemon off;"];
  edit(c);
  return c;
};

const plugin = (name: string, when: Plugin["when"], stages: Plugin["stages"] = ["prestart"]): Plugin => ({
  file: `/etc/bunc/hooks.d/${name}.json`,
  hook: { path: `/usr/libexec/${name}` },
  when,
  stages,
});

describe("when a plugin matches (oci-hooks(5))", () => {
  const cases: [string, Plugin["when"], (c: Config) => void, boolean][] = [
    ["always", { always: true }, () => {}, true],
    ["always: false never", { always: false }, () => {}, false],
    ["a command, unanchored", { commands: ["nginx"] }, () => {}, true],
    ["a command, anchored", { commands: ["^nginx$"] }, () => {}, false],
    ["any of the commands", { commands: ["^/bin/sh$", "/nginx$"] }, () => {}, true],
    [
      "an annotation pair",
      { annotations: { "^com\\.example\\.gpu$": "^(yes|true)$" } },
      (c) => (c.annotations = { "com.example.gpu": "yes" }),
      true,
    ],
    [
      "every annotation pair must match",
      { annotations: { "^a$": "1", "^b$": "2" } },
      (c) => (c.annotations = { a: "1", b: "3" }),
      false,
    ],
    [
      "bind mounts asked for",
      { hasBindMounts: true },
      (c) => c.mounts?.push({ destination: "/data", source: "/srv", options: ["rbind"] }),
      true,
    ],
    ["no bind mounts", { hasBindMounts: true }, () => {}, false],
    [
      "all conditions together",
      { always: true, commands: ["nginx"], hasBindMounts: true },
      (c) => c.mounts?.push({ destination: "/data", source: "/srv", type: "bind" }),
      true,
    ],
    ["one condition failing fails all", { always: true, commands: ["^redis"] }, () => {}, false],
  ];
  test.each(cases)("%s", (_name, when, edit, expected) => {
    expect(matches(plugin("p", when), config(edit))).toBe(expected);
  });
});

describe("the hooks of a stage", () => {
  test("the config's own first, then matching plugins in the order given; precreate only from plugins", () => {
    const c = config((x) => {
      x.hooks = { prestart: [{ path: "/own" }] };
    });
    const plan = selectHooks(c, [
      plugin("a", { always: true }, ["prestart", "poststop"]),
      plugin("b", { commands: ["^redis"] }),
      plugin("c", { always: true }, ["precreate"]),
    ]);
    expect(plan.prestart?.map((h) => h.path)).toEqual(["/own", "/usr/libexec/a"]);
    expect(plan.poststop?.map((h) => h.plugin)).toEqual(["/etc/bunc/hooks.d/a.json"]);
    expect(plan.precreate?.map((h) => h.path)).toEqual(["/usr/libexec/c"]);
    expect(plan.createRuntime).toBeUndefined();
  });

  test("a plugin the config already holds, at any stage, is not added again; bunc.hooks=none turns plugins off", () => {
    const injected = config((x) => {
      x.hooks = { createRuntime: [{ path: "/usr/libexec/a" }] };
    });
    expect(selectHooks(injected, [plugin("a", { always: true })]).prestart).toBeUndefined();
    const optedOut = config((x) => {
      x.annotations = { "bunc.hooks": "none" };
    });
    expect(selectHooks(optedOut, [plugin("a", { always: true })])).toEqual({});
  });

  test("createContainer hooks may not run bunc's own binary", () => {
    const c = config((x) => {
      x.hooks = { createContainer: [{ path: "/proc/self/exe" }] };
    });
    expect(() => selectHooks(c, [])).toThrow(
      "hooks.createContainer[0].path: bunc's own binary never runs in the container's namespaces (createContainer)",
    );
  });
});

describe("the hook runner", () => {
  test("stdin, stdout, stderr and the exit status; only the hook's own env", () => {
    const o = runHookProcess(
      { path: "/bin/sh", args: ["sh", "-c", 'read x; echo "out $x $B"; echo err >&2; exit 4'], env: ["B=2"] },
      "in\n",
      tmp,
    );
    expect(o).toEqual({ code: 4, timedOut: false, stdout: "out in 2\n", stderr: "err\n" });
    expect(hookFailure("prestart", { path: "/bin/sh" }, o)).toBe(
      "prestart hook /bin/sh exited with status 4: err",
    );
  });

  test("a signal is 128 + its number; a timeout kills and says so", () => {
    const killed = runHookProcess({ path: "/bin/sh", args: ["sh", "-c", "kill -9 $$"] }, "", null);
    expect(killed.code).toBe(137);
    const slow = runHookProcess({ path: "/bin/sh", args: ["sh", "-c", "sleep 5"], timeout: 1 }, "", null);
    expect(slow.timedOut).toBe(true);
    expect(hookFailure("poststart", { path: "/bin/sh", timeout: 1 }, slow)).toBe(
      "poststart hook /bin/sh ran past its timeout of 1s and was killed",
    );
  });

  test("a program that cannot be run is an error naming it", () => {
    expect(() => runHookProcess({ path: "/nonexistent" }, "", null)).toThrow(
      "/nonexistent: No such file or directory",
    );
  });
});

describe("bunc hook", () => {
  test("the stage, when not given, follows the status", () => {
    expect(stageOfStatus("creating")).toBe("createRuntime");
    expect(stageOfStatus("running")).toBe("poststart");
    expect(stageOfStatus("stopped")).toBe("poststop");
    expect(() => stageOfStatus("paused")).toThrow('state.status: "paused" is no status of a hook\'s state');
    expect(splitHookArgs(["poststop", "--file", "/x"])).toEqual({
      stage: "poststop",
      options: ["--file", "/x"],
    });
    expect(splitHookArgs(["--file", "/x"])).toEqual({ stage: undefined, options: ["--file", "/x"] });
  });
});

describe("the log plugin", () => {
  const state = {
    ociVersion: "1.3.0",
    id: "c1",
    status: "stopped",
    pid: 0,
    bundle: "/b",
    created: "2026-12-01T10:00:00.000Z",
    exitStatus: 3,
  };

  test("a record: the event, the stage, the state; exit status and how long it lived once stopped", () => {
    const now = new Date("2026-12-01T10:00:02.500Z");
    expect(record("poststop", state, now)).toEqual({
      time: "2026-12-01T10:00:02.500Z",
      event: "stopped",
      stage: "poststop",
      id: "c1",
      exitStatus: 3,
      durationMs: 2500,
      state,
    });
    expect(record("createRuntime", { ...state, status: "creating" }, now)).toMatchObject({
      event: "created",
    });
    expect(record("poststart", { ...state, status: "running" }, now)).not.toHaveProperty("exitStatus");
  });

  test("the file is appended to, rotated by size, and never reached through a symlink", () => {
    const file = join(tmp, "life.jsonl");
    const line = `${"x".repeat(40)}\n`;
    for (let i = 0; i < 6; i++) appendRecord(file, line, { maxSize: 100, keep: 2 });
    expect(readFileSync(file, "utf8")).toBe(line.repeat(2));
    expect(readFileSync(`${file}.1`, "utf8")).toBe(line.repeat(2));
    expect(readFileSync(`${file}.2`, "utf8")).toBe(line.repeat(2));
    expect(existsSync(`${file}.3`)).toBe(false);
    const target = join(tmp, "elsewhere");
    writeFileSync(target, "");
    symlinkSync(target, join(tmp, "link.jsonl"));
    expect(() => appendRecord(join(tmp, "link.jsonl"), line, { maxSize: 100, keep: 1 })).toThrow("ELOOP");
    expect(readFileSync(target, "utf8")).toBe("");
  });

  test("the journal's native fields and syslog's RFC 3164 line, one datagram each", async () => {
    const socket = join(tmp, "log.sock");
    // A receiver for two datagrams (Bun has no unix datagram sockets).
    const receiver = Bun.spawn(
      [
        "python3",
        "-c",
        `import socket,sys
s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.bind(sys.argv[1]); print("ready",flush=True)
for _ in range(2): sys.stdout.write(repr(s.recv(65536).decode())+"\\n")`,
        socket,
      ],
      { stdout: "pipe" },
    );
    const reader = receiver.stdout.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toStartWith("ready");
    toJournal('{"event":"created"}', "c1", socket);
    toSyslog('{"event":"started"}', socket);
    let out = first;
    while (out.split("\n").length < 4) {
      const chunk = await reader.read();
      if (chunk.done) break;
      out += new TextDecoder().decode(chunk.value);
    }
    await receiver.exited;
    const [, journal, syslog] = out.split("\n");
    // Python's repr: the journal's fields are newline-separated.
    expect(journal).toBe(
      `'SYSLOG_IDENTIFIER=bunc\\nPRIORITY=6\\nCONTAINER_ID=c1\\nMESSAGE={"event":"created"}\\n'`,
    );
    expect(syslog).toBe(`'<30>bunc: {"event":"started"}'`);
  });
});
