// OCI hooks on real containers: each stage's order, namespaces, state, env,
// cwd, timeout and failure semantics, recorded by a shell script that every
// hook runs (the startContainer one through a bind mount, as its path is
// the container's).
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Config, HOOK_STAGES } from "../../src/oci/config.ts";
import { BUNC, useTestEnv } from "./harness.ts";

const env = useTestEnv();

const RECORDER = `#!/bin/sh
stage=$1; dir=$2
cat > "$dir/$stage.state"
env > "$dir/$stage.env"
readlink /proc/self/ns/mnt > "$dir/$stage.mnt"
readlink /proc/self/ns/pid > "$dir/$stage.pidns"
pwd > "$dir/$stage.cwd"
ls /proc/self/fd > "$dir/$stage.fds"
echo "$stage" >> "$dir/order"
`;

type Hooks = NonNullable<Config["hooks"]>;
const STAGES = HOOK_STAGES;

/** A directory with the recorder in it, which containers see at /hooklog. */
function logDir(id: string): string {
  const dir = join(env.dir, "hooklog", id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "hook.sh"), RECORDER, { mode: 0o755 });
  return dir;
}

const recorder = (dir: string, stage: string, extra: { timeout?: number } = {}) => {
  const inside = stage === "startContainer";
  const d = inside ? "/hooklog" : dir;
  return { path: `${d}/hook.sh`, args: ["hook.sh", stage, d], env: ["A=1"], ...extra };
};

const sh = (script: string, extra: { timeout?: number } = {}) => ({
  path: "/bin/sh",
  args: ["sh", "-c", script],
  ...extra,
});

function withHooks(dir: string, hooks: Hooks, annotations?: Record<string, string>) {
  return (c: Config) => {
    c.hooks = hooks;
    c.mounts = [
      ...(c.mounts ?? []),
      { destination: "/hooklog", type: "bind", source: dir, options: ["rbind", "rw"] },
    ];
    if (annotations) c.annotations = annotations;
  };
}

const order = (dir: string) =>
  existsSync(join(dir, "order")) ? readFileSync(join(dir, "order"), "utf8").trim().split("\n") : [];
const read = (dir: string, file: string) => readFileSync(join(dir, file), "utf8").trim();

const made: string[] = [];
afterEach(() => {
  for (const id of made.splice(0)) if (existsSync(join(env.root, id))) env.bunc(["delete", "--force", id]);
});

function expectGone(id: string): void {
  expect(existsSync(join(env.root, id))).toBe(false);
  for (const d of env.cgroupDirs(id)) expect(existsSync(d)).toBe(false);
}

describe("hook stages", () => {
  test("all six run in order, each in its namespaces, with its state, env and cwd", async () => {
    const id = env.id("hk");
    const dir = logDir(id);
    const hooks = Object.fromEntries(STAGES.map((s) => [s, [recorder(dir, s)]])) as Hooks;
    const bundle = env.bundle(id, ["sleep", "100"], withHooks(dir, hooks, { team: "a" }));
    made.push(id);
    env.ok(["create", "--bundle", bundle, id]);
    const { pid } = env.state(id);
    expect(order(dir)).toEqual(["prestart", "createRuntime", "createContainer"]);
    env.ok(["start", id]);
    expect(order(dir)).toEqual([
      "prestart",
      "createRuntime",
      "createContainer",
      "startContainer",
      "poststart",
    ]);
    env.ok(["delete", "--force", id]);
    expect(order(dir)).toEqual([...STAGES]);

    const host = { mnt: read(dir, "prestart.mnt"), pidns: read(dir, "prestart.pidns") };
    const state = (s: string) => JSON.parse(read(dir, `${s}.state`));
    for (const s of ["prestart", "createRuntime", "poststart", "poststop"]) {
      // The runtime's stages: the host's namespaces, the host pid, the bundle as cwd.
      expect(read(dir, `${s}.mnt`)).toBe(host.mnt);
      expect(read(dir, `${s}.cwd`)).toBe(bundle);
    }
    for (const s of ["createContainer", "startContainer"]) {
      // The container's stages: its mount and pid namespaces, where it is pid 1.
      expect(read(dir, `${s}.mnt`)).not.toBe(host.mnt);
      expect(read(dir, `${s}.pidns`)).not.toBe(host.pidns);
      expect(state(s).pid).toBe(1);
    }
    expect(read(dir, "createContainer.mnt")).toBe(read(dir, "startContainer.mnt"));
    expect(read(dir, "createContainer.cwd")).toBe(env.rootfs);
    expect(read(dir, "startContainer.cwd")).toBe("/");
    const want = { ociVersion: expect.any(String), id, bundle, annotations: { team: "a" } };
    expect(state("prestart")).toMatchObject({ ...want, status: "creating", pid });
    expect(state("createRuntime")).toMatchObject({ ...want, status: "creating", pid });
    expect(state("createContainer")).toMatchObject({ ...want, status: "creating" });
    expect(state("startContainer")).toMatchObject({ ...want, status: "created" });
    expect(state("poststart")).toMatchObject({ ...want, status: "running", pid });
    expect(state("poststop")).toMatchObject({ ...want, status: "stopped" });
    // Nothing of ours is open in a hook: stdin, stdout, stderr (and ls's own directory).
    for (const s of STAGES) expect(read(dir, `${s}.fds`).split("\n")).toEqual(["0", "1", "2", "3"]);
    // Nothing of bunc's own environment; dash adds PWD itself.
    for (const s of STAGES) {
      const lines = read(dir, `${s}.env`)
        .split("\n")
        .filter((l) => !l.startsWith("PWD="));
      expect(lines).toEqual(["A=1"]);
    }
  });

  test("a timeout kills the hook's whole process group: a sleeping hook, and a hook whose child sleeps", () => {
    for (const [script, marker] of [
      ["exec sleep 1001", "1001"],
      ["sleep 1002; true", "1002"],
    ] as const) {
      const id = env.id("hk");
      const bundle = env.bundle(id, ["true"], (c) => {
        c.hooks = { createRuntime: [sh(script, { timeout: 1 })] };
      });
      const r = env.bunc(["create", "--bundle", bundle, id]);
      expect(r.stderr).toBe("bunc: createRuntime hook /bin/sh ran past its timeout of 1s and was killed\n");
      expect(r.code).toBe(1);
      expectGone(id);
      const left = readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, "utf8") === `sleep\0${marker}\0`;
          } catch {
            return false;
          }
        });
      expect(left).toEqual([]);
    }
  });
});

describe("hook failures", () => {
  test("prestart, createRuntime or createContainer failing fails create, destroys the container, runs poststop", () => {
    for (const stage of ["prestart", "createRuntime", "createContainer"] as const) {
      const id = env.id("hk");
      const dir = logDir(id);
      const bundle = env.bundle(
        id,
        ["true"],
        withHooks(dir, { [stage]: [sh("echo boom >&2; exit 3")], poststop: [recorder(dir, "poststop")] }),
      );
      const r = env.bunc(["create", "--bundle", bundle, id]);
      expect(r.stderr).toBe(`bunc: ${stage} hook /bin/sh exited with status 3: boom\n`);
      expect(r.code).toBe(1);
      expectGone(id);
      expect(order(dir)).toEqual(["poststop"]);
      expect(JSON.parse(read(dir, "poststop.state")).status).toBe("stopped");
    }
  });

  test("startContainer failing fails start and destroys the container; poststop runs", () => {
    const id = env.id("hk");
    const dir = logDir(id);
    const bundle = env.bundle(
      id,
      ["true"],
      withHooks(dir, {
        startContainer: [sh("echo nope >&2; exit 5")],
        poststop: [recorder(dir, "poststop")],
      }),
    );
    made.push(id);
    env.ok(["create", "--bundle", bundle, id]);
    const r = env.bunc(["start", id]);
    expect(r.stderr).toBe(
      `bunc: container ${id} did not start: startContainer hook /bin/sh exited with status 5: nope\n`,
    );
    expect(r.code).toBe(1);
    expectGone(id);
    expect(order(dir)).toEqual(["poststop"]);
  });

  test("poststart failing fails start and stops the container; delete runs poststop", async () => {
    const id = env.id("hk");
    const dir = logDir(id);
    const bundle = env.bundle(
      id,
      ["sleep", "100"],
      withHooks(dir, { poststart: [sh("echo late >&2; exit 6")], poststop: [recorder(dir, "poststop")] }),
    );
    made.push(id);
    env.ok(["create", "--bundle", bundle, id]);
    const r = env.bunc(["start", id]);
    expect(r.stderr).toBe("bunc: poststart hook /bin/sh exited with status 6: late\n");
    expect(r.code).toBe(1);
    await env.waitStatus(id, "stopped");
    env.ok(["delete", id]);
    expect(order(dir)).toEqual(["poststop"]);
  });

  test("a failing poststop hook is a warning; the others still run", () => {
    const id = env.id("hk");
    const dir = logDir(id);
    const bundle = env.bundle(
      id,
      ["true"],
      withHooks(dir, { poststop: [sh("echo gone >&2; exit 7"), recorder(dir, "poststop")] }),
    );
    const r = env.bunc(["run", "--bundle", bundle, id]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("bunc: warning: poststop hook /bin/sh exited with status 7: gone\n");
    expect(order(dir)).toEqual(["poststop"]);
    expectGone(id);
  });

  test("a hook that cannot be started is named", () => {
    const id = env.id("hk");
    const bundle = env.bundle(id, ["true"], (c) => {
      c.hooks = { prestart: [{ path: "/nonexistent/hook" }] };
    });
    const r = env.bunc(["create", "--bundle", bundle, id]);
    expect(r.stderr).toBe(
      "bunc: prestart hook /nonexistent/hook could not be run: /nonexistent/hook: No such file or directory\n",
    );
    expectGone(id);
  });
});

/** A hooks directory of the test's, with these hooks.d files. */
function pluginDir(name: string, files: Record<string, unknown>): string {
  const dir = join(env.dir, "plugins", name);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  for (const [file, content] of Object.entries(files)) {
    const path = join(dir, file);
    writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content), { mode: 0o644 });
    chmodSync(path, 0o644);
  }
  return dir;
}

const plugin = (hook: object, when: object, stages: string[]) => ({ version: "1.0.0", hook, when, stages });

describe("the plugin directory", () => {
  test("plugins run after the config's own hooks, by file name; a later directory masks an earlier one", () => {
    const id = env.id("hk");
    const dir = logDir(id);
    const hook = (tag: string) => recorder(dir, tag);
    const first = pluginDir(`${id}-1`, {
      "02-b.json": plugin(hook("02-b"), { always: true }, ["createRuntime"]),
      "01-a.json": plugin(hook("01-a"), { always: true }, ["createRuntime"]),
      "10-masked.json": plugin(hook("masked"), { always: true }, ["createRuntime"]),
      "README.txt": "not a plugin",
    });
    const second = pluginDir(`${id}-2`, {
      "01-B.json": plugin(hook("01-B"), { always: true }, ["createRuntime"]),
      "10-masked.json": plugin(hook("masking"), { always: true }, ["createRuntime"]),
    });
    const bundle = env.bundle(id, ["true"], withHooks(dir, { createRuntime: [recorder(dir, "config")] }));
    const r = env.bunc(["--hooks-dir", first, "--hooks-dir", second, "run", "--bundle", bundle, id]);
    expect(r.stderr).toBe("");
    expect(order(dir)).toEqual(["config", "01-a", "01-B", "02-b", "masking"]);
  });

  test("when: annotations, commands and hasBindMounts all must match; regexes are unanchored", () => {
    const id = env.id("hk");
    const dir = logDir(id);
    const plugins = pluginDir(id, {
      "a.json": plugin(recorder(dir, "annotation"), { annotations: { "^com\\.example\\.team$": "fluid" } }, [
        "poststart",
      ]),
      "b.json": plugin(recorder(dir, "command"), { commands: ["sleep$"] }, ["poststart"]),
      "c.json": plugin(recorder(dir, "command-miss"), { commands: ["^/bin/true$"] }, ["poststart"]),
      "d.json": plugin(recorder(dir, "binds"), { hasBindMounts: true }, ["poststart"]),
      "e.json": plugin(recorder(dir, "both"), { hasBindMounts: true, commands: ["nomatch"] }, ["poststart"]),
      "f.json": plugin(recorder(dir, "never"), { always: false }, ["poststart"]),
    });
    const bundle = env.bundle(
      id,
      ["sleep", "0"],
      withHooks(dir, {}, { "com.example.team": "cfd-fluid-dynamics" }),
    );
    env.ok(["--hooks-dir", plugins, "run", "--bundle", bundle, id]);
    expect(order(dir)).toEqual(["annotation", "command", "binds"]);
  });

  test("a hook the config already has (as podman injects them) runs once; bunc.hooks=none turns plugins off", () => {
    const id = env.id("hk");
    const dir = logDir(id);
    const plugins = pluginDir(id, {
      "same.json": plugin(recorder(dir, "same"), { always: true }, ["prestart"]),
      "other.json": plugin(recorder(dir, "other"), { always: true }, ["poststart"]),
    });
    const bundle = env.bundle(id, ["true"], withHooks(dir, { createRuntime: [recorder(dir, "same")] }));
    env.ok(["--hooks-dir", plugins, "run", "--bundle", bundle, id]);
    expect(order(dir)).toEqual(["same", "other"]);
    const id2 = env.id("hk");
    const dir2 = logDir(id2);
    const plugins2 = pluginDir(id2, {
      "p.json": plugin(recorder(dir2, "plugin"), { always: true }, ["prestart"]),
    });
    const bundle2 = env.bundle(
      id2,
      ["true"],
      withHooks(dir2, { prestart: [recorder(dir2, "own")] }, { "bunc.hooks": "none" }),
    );
    env.ok(["--hooks-dir", plugins2, "run", "--bundle", bundle2, id2]);
    expect(order(dir2)).toEqual(["own"]);
  });

  test("a plugin file that is malformed or that others could change is refused by file and field", () => {
    const good = { path: "/bin/true" };
    const cases: [string, (dir: string) => void, string][] = [
      [
        "bad.json",
        (d) => writeFileSync(join(d, "bad.json"), "{", { mode: 0o644 }),
        "bad.json: not valid JSON",
      ],
      [
        "empty-when.json",
        () => {},
        "empty-when.json: when: must set at least one of always, annotations, commands, hasBindMounts",
      ],
      ["stage.json", () => {}, "stage.json: stages[0]: "],
      ["regex.json", () => {}, "regex.json: when.commands[0]: is not a valid regular expression"],
      ["missing.json", () => {}, "missing.json: hook.path: /nonexistent/x does not exist"],
      [
        "owner.json",
        (d) => require("node:fs").chownSync(join(d, "owner.json"), 65534, 65534),
        "owner.json: a hooks.d file must be owned by root, not uid 65534",
      ],
      [
        "mode.json",
        (d) => chmodSync(join(d, "mode.json"), 0o664),
        "mode.json: a hooks.d file must not be writable by group or others (mode 0664)",
      ],
      [
        "dir.json",
        (d) => chmodSync(d, 0o775),
        ": a hooks directory must not be writable by group or others (mode 0775)",
      ],
      [
        "module.json",
        () => {},
        "module.json: stages: an in-process module never runs in the container's namespaces (createContainer)",
      ],
    ];
    const content: Record<string, unknown> = {
      "empty-when.json": plugin(good, {}, ["prestart"]),
      "stage.json": plugin(good, { always: true }, ["bogus"]),
      "regex.json": plugin(good, { commands: ["("] }, ["prestart"]),
      "missing.json": plugin({ path: "/nonexistent/x" }, { always: true }, ["prestart"]),
      "owner.json": plugin(good, { always: true }, ["prestart"]),
      "mode.json": plugin(good, { always: true }, ["prestart"]),
      "dir.json": plugin(good, { always: true }, ["prestart"]),
    };
    for (const [file, spoil, message] of cases) {
      const id = env.id("hk");
      const files: Record<string, unknown> = file === "bad.json" ? {} : { [file]: content[file] ?? {} };
      if (file === "module.json") {
        const mod = join(env.dir, `${id}-mod.ts`);
        writeFileSync(mod, "export default () => {};\n", { mode: 0o644 });
        files[file] = plugin({ path: mod }, { always: true }, ["createContainer"]);
      }
      const dir = pluginDir(id, files);
      spoil(dir);
      const r = env.bunc(["--hooks-dir", dir, "create", "--bundle", env.bundle(id, ["true"]), id]);
      expect(r.code).toBe(1);
      expect(r.stderr.split("\n")).toHaveLength(2);
      expect(r.stderr).toStartWith(`bunc: ${dir}`);
      expect(r.stderr).toContain(message);
      expectGone(id);
      chmodSync(dir, 0o755);
    }
    const r = env.bunc([
      "--hooks-dir",
      "/nonexistent/hooks.d",
      "create",
      "--bundle",
      env.bundle("x", ["true"]),
      "x",
    ]);
    expect(r.stderr).toBe("bunc: --hooks-dir: /nonexistent/hooks.d does not exist\n");
  });

  test("precreate hooks rewrite the config, which is validated again", () => {
    const id = env.id("hk");
    const rewrite = pluginDir(id, {
      "p.json": plugin(
        sh('sed "s/\\"hostname\\":\\"[^\\"]*\\"/\\"hostname\\":\\"rewritten\\"/"'),
        { always: true },
        ["precreate"],
      ),
    });
    const bundle = env.bundle(id, ["hostname"]);
    expect(env.ok(["--hooks-dir", rewrite, "run", "--bundle", bundle, id]).trim()).toBe("rewritten");
    const id2 = env.id("hk");
    const broken = pluginDir(id2, {
      "p.json": plugin(sh('sed "s/\\"args\\":\\[[^]]*\\]/\\"args\\":7/"'), { always: true }, ["precreate"]),
    });
    const r = env.bunc(["--hooks-dir", broken, "create", "--bundle", env.bundle(id2, ["true"]), id2]);
    expect(r.stderr).toBe(
      "bunc: the config the precreate hooks printed: process.args: expected a list, got 7\n",
    );
    expectGone(id2);
  });

  test("an in-process module gets the state and the config, and its timeout holds", () => {
    const id = env.id("hk");
    const out = join(env.dir, `${id}.json`);
    const mod = join(env.dir, `${id}-plugin.ts`);
    writeFileSync(
      mod,
      `import { writeFileSync } from "node:fs";
export function createRuntime(state: { id: string; status: string }, config: { hostname?: string }) {
  writeFileSync(${JSON.stringify(out)}, JSON.stringify({ id: state.id, status: state.status, hostname: config.hostname }));
}
export function poststart() { return new Promise(() => {}); }
`,
      { mode: 0o644 },
    );
    chmodSync(mod, 0o644);
    const plugins = pluginDir(id, {
      "m.json": plugin({ path: mod }, { always: true }, ["createRuntime"]),
      "slow.json": plugin({ path: mod, timeout: 1 }, { always: true }, ["poststart"]),
    });
    const r = env.bunc(["--hooks-dir", plugins, "run", "--bundle", env.bundle(id, ["true"]), id]);
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual({ id, status: "creating", hostname: "bunc" });
    expect(r.stderr).toStartWith(
      `bunc: poststart hook ${mod} (from ${plugins}/slow.json) ran past its timeout of 1s`,
    );
    expectGone(id);
  });
});

describe("bundled plugins", () => {
  test("hooks install writes the log plugin's entry; it records a container's life, in-process", () => {
    const id = env.id("hk");
    const dir = pluginDir(id, {});
    const installed = env.ok(["hooks", "install", "--dir", dir, "log"]).trim();
    expect(installed).toBe(join(dir, "50-bunc-log.json"));
    expect(JSON.parse(readFileSync(installed, "utf8"))).toEqual({
      version: "1.0.0",
      hook: { path: BUNC, args: ["bunc", "hook", "log"] },
      when: { always: true },
      stages: ["createRuntime", "poststart", "poststop"],
    });
    const log = join(env.dir, `${id}.jsonl`);
    const bundle = env.bundle(id, ["true"], (c) => {
      c.annotations = { "bunc.log": log };
    });
    const listed = env.ok(["--hooks-dir", dir, "hooks", "list", "--bundle", bundle]);
    expect(listed).toContain(
      `${installed}\n  runs ${BUNC} hook log\n  at createRuntime, poststart, poststop\n`,
    );
    expect(listed).toContain(`  poststop:\n    ${BUNC} hook log  (${installed})\n`);
    env.ok(["--hooks-dir", dir, "run", "--bundle", bundle, id]);
    const records = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(records.map((r) => [r.event, r.stage, r.state.status])).toEqual([
      ["created", "createRuntime", "creating"],
      ["started", "poststart", "running"],
      ["stopped", "poststop", "stopped"],
    ]);
    expect(records[2]).toMatchObject({ id, exitStatus: 0, durationMs: expect.any(Number) });
  });

  test("bunc hook log runs as an ordinary program hook, the state on stdin", () => {
    const id = env.id("hk");
    const log = join(env.dir, `${id}.jsonl`);
    const bundle = env.bundle(id, ["true"], (c) => {
      // Through a shell, so that it is a program of its own and not called in-process.
      c.hooks = { poststart: [sh(`exec ${BUNC} hook log poststart --file ${log}`)] };
    });
    env.ok(["run", "--bundle", bundle, id]);
    const [rec] = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rec).toMatchObject({ event: "started", stage: "poststart", id, state: { status: "running" } });
  });

  test("a log file that is a symlink is refused, and that fails the stage", () => {
    const id = env.id("hk");
    const dir = pluginDir(id, {});
    env.ok(["hooks", "install", "--dir", dir, "log"]);
    const target = join(env.dir, `${id}-target`);
    writeFileSync(target, "");
    const link = join(env.dir, `${id}.jsonl`);
    require("node:fs").symlinkSync(target, link);
    const bundle = env.bundle(id, ["true"], (c) => {
      c.annotations = { "bunc.log": link };
    });
    const r = env.bunc(["--hooks-dir", dir, "create", "--bundle", bundle, id]);
    // The destroyed container's poststop record fails the same way: a warning, before the error.
    const from = `${BUNC} (from ${dir}/50-bunc-log.json) failed: ELOOP`;
    const [warning, error] = r.stderr.trim().split("\n");
    expect(warning).toStartWith(`bunc: warning: poststop hook ${from}`);
    expect(error).toStartWith(`bunc: createRuntime hook ${from}`);
    expect(r.code).toBe(1);
    expect(readFileSync(target, "utf8")).toBe("");
    expectGone(id);
  });
});
