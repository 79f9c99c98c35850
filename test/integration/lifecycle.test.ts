// create / start / state / kill / delete / run / list on real containers.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNC, consoleReceiver, runIn, useTestEnv } from "./harness.ts";

const env = useTestEnv();

/** A host directory bound into the container at /out, to see what the process did. */
function outDir(id: string): string {
  const dir = join(env.dir, "out", id);
  mkdirSync(dir, { recursive: true });
  return dir;
}
const bindOut = (dir: string) => (c: { mounts?: unknown[] }) => {
  c.mounts = [
    ...(c.mounts ?? []),
    { destination: "/out", type: "bind", source: dir, options: ["rbind", "rw"] },
  ];
};

describe("lifecycle", () => {
  test("create does not run the program; start does; state follows created, running, stopped", async () => {
    const id = env.id();
    const out = outDir(id);
    const bundle = env.bundle(id, ["sh", "-c", "echo ran > /out/mark; sleep 0.3"], bindOut(out));
    const pidFile = join(env.dir, `${id}.pid`);
    env.ok(["create", "--bundle", bundle, "--pid-file", pidFile, id]);
    const created = env.state(id);
    expect(created.status).toBe("created");
    expect(created.id).toBe(id);
    expect(created.bundle).toBe(bundle);
    expect(created.ociVersion).toBe("1.3.0");
    expect(created.rootfs).toBe(env.rootfs);
    expect(Number(readFileSync(pidFile, "utf8"))).toBe(created.pid);
    // The init is alive and waiting, and the program has not run.
    expect(existsSync(`/proc/${created.pid}`)).toBe(true);
    await Bun.sleep(200);
    expect(existsSync(join(out, "mark"))).toBe(false);

    env.ok(["start", id]);
    expect(env.state(id).status).toBe("running");
    await env.waitStatus(id, "stopped");
    expect(readFileSync(join(out, "mark"), "utf8")).toBe("ran\n");
    expect(env.state(id).pid).toBe(0);
    env.ok(["delete", id]);
    expect(env.bunc(["state", id]).code).toBe(1);
  });

  test("start refuses a container that is not created", async () => {
    const id = env.id();
    env.ok(["create", "--bundle", env.bundle(id, ["sleep", "10"]), id]);
    env.ok(["start", id]);
    const again = env.bunc(["start", id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("running");
    env.ok(["delete", "--force", id]);
  });

  test("kill sends the named signal; delete of a running container needs --force", async () => {
    const id = env.id();
    env.ok([
      "create",
      "--bundle",
      env.bundle(id, ["sh", "-c", "trap 'exit 7' USR1; while :; do sleep 0.05; done"]),
      id,
    ]);
    env.ok(["start", id]);
    await Bun.sleep(200);
    const refused = env.bunc(["delete", id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("not stopped");
    expect(env.state(id).status).toBe("running");
    env.ok(["kill", id, "USR1"]);
    await env.waitStatus(id, "stopped");
    const late = env.bunc(["kill", id, "KILL"]);
    expect(late.code).toBe(1);
    expect(late.stderr).toContain("stopped");
    env.ok(["delete", id]);
    for (const d of env.cgroupDirs(id)) expect(existsSync(d)).toBe(false);
  });

  test("kill accepts SIGTERM, TERM and 15, and the default is TERM", async () => {
    for (const sig of ["SIGTERM", "TERM", "15", undefined]) {
      const id = env.id();
      env.ok([
        "create",
        "--bundle",
        env.bundle(id, ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.05; done"]),
        id,
      ]);
      env.ok(["start", id]);
      await Bun.sleep(150);
      env.ok(sig ? ["kill", id, sig] : ["kill", id]);
      await env.waitStatus(id, "stopped");
      env.ok(["delete", id]);
    }
    const bad = env.bunc(["kill", "x", "NOPE"]);
    expect(bad.code).toBe(1);
  });

  test("a created container is ended by kill TERM (its waiting init handles signals)", async () => {
    const id = env.id();
    env.ok(["create", "--bundle", env.bundle(id, ["true"]), id]);
    env.ok(["kill", id, "TERM"]);
    await env.waitStatus(id, "stopped");
    env.ok(["delete", id]);
  });

  test("delete of a created container kills its init and removes everything", async () => {
    const id = env.id();
    env.ok(["create", "--bundle", env.bundle(id, ["true"]), id]);
    const { pid } = env.state(id);
    for (const d of env.cgroupDirs(id)) expect(existsSync(d)).toBe(true);
    env.ok(["delete", id]);
    expect(
      existsSync(`/proc/${pid}/stat`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z"),
    ).toBe(false);
    for (const d of env.cgroupDirs(id)) expect(existsSync(d)).toBe(false);
    expect(existsSync(join(env.root, id))).toBe(false);
  });

  test("kill --all signals every process in the cgroup", async () => {
    const id = env.id();
    const out = outDir(id);
    const script = "sleep 100 & sleep 100 & echo started > /out/s; wait";
    env.ok([
      "create",
      "--bundle",
      env.bundle(id, ["sh", "-c", script], (c) => {
        bindOut(out)(c);
        // Without a pid namespace the children would outlive sh: --all must reach them.
        c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== "pid");
      }),
      id,
    ]);
    env.ok(["start", id]);
    for (let i = 0; i < 100 && !existsSync(join(out, "s")); i++) await Bun.sleep(20);
    const procs = () =>
      readFileSync(`${env.cgroupDirs(id).find((d) => d.includes("/pids/"))}/cgroup.procs`, "utf8")
        .split("\n")
        .filter(Boolean);
    expect(procs().length).toBe(3);
    env.ok(["kill", "--all", id, "KILL"]);
    for (let i = 0; i < 100 && procs().length > 0; i++) await Bun.sleep(20);
    expect(procs()).toEqual([]);
    env.ok(["delete", id]);
  });

  test("run exits with the process's status, and 128+N when killed by signal N", async () => {
    expect(runIn(env, ["sh", "-c", "exit 42"]).code).toBe(42);
    expect(runIn(env, ["true"]).code).toBe(0);

    const id = env.id();
    const bundle = env.bundle(id, ["sleep", "100"]);
    const child = Bun.spawn([BUNC, "--root", env.root, "run", "--bundle", bundle, id], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    await env.waitStatus(id, "running");
    env.ok(["kill", id, "KILL"]);
    expect(await child.exited).toBe(137);
    // run deletes the container it ran.
    expect(env.bunc(["state", id]).code).toBe(1);
  });

  test("run passes on the signals it receives", async () => {
    const id = env.id();
    const bundle = env.bundle(id, ["sh", "-c", "trap 'exit 9' TERM; while :; do sleep 0.05; done"]);
    const child = Bun.spawn([BUNC, "--root", env.root, "run", "--bundle", bundle, id], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    await env.waitStatus(id, "running");
    await Bun.sleep(100);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(9);
  });

  test("run --detach leaves it running; run --keep keeps the stopped container", async () => {
    const id = env.id();
    env.ok(["run", "--detach", "--bundle", env.bundle(id, ["sleep", "100"]), id]);
    expect(env.state(id).status).toBe("running");
    env.ok(["delete", "--force", id]);

    const kept = env.id();
    const r = env.bunc(["run", "--keep", "--bundle", env.bundle(kept, ["sh", "-c", "exit 3"]), kept]);
    expect(r.code).toBe(3);
    expect(env.state(kept).status).toBe("stopped");
    env.ok(["delete", kept]);
  });

  test("stdio passes through", () => {
    const r = runIn(env, ["sh", "-c", "cat; echo to-err >&2"], undefined, "from stdin\n");
    expect(r.stdout).toBe("from stdin\n");
    expect(r.stderr).toBe("to-err\n");
  });

  test("two concurrent creates of one id: exactly one succeeds", async () => {
    const id = env.id();
    const bundle = env.bundle(id, ["sleep", "100"]);
    const procs = Array.from({ length: 4 }, () =>
      Bun.spawn([BUNC, "--root", env.root, "create", "--bundle", bundle, id], {
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    const codes = await Promise.all(procs.map((p) => p.exited));
    expect(codes.filter((c) => c === 0).length).toBe(1);
    for (const [i, p] of procs.entries()) {
      if (codes[i] !== 0) expect(await new Response(p.stderr).text()).toContain("already exists");
    }
    expect(env.state(id).status).toBe("created");
    env.ok(["delete", id]);
  });

  test("list shows containers as a table, as JSON and as ids", async () => {
    const a = env.id("list");
    env.ok(["create", "--bundle", env.bundle(a, ["true"]), a]);
    const table = env.ok(["list"]);
    expect(table.split("\n")[0]).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
    expect(table).toMatch(new RegExp(`^${a}\\s+\\d+\\s+created\\s+`, "m"));
    const json = JSON.parse(env.ok(["list", "--format", "json"]));
    const entry = json.find((e: { id: string }) => e.id === a);
    expect(entry.status).toBe("created");
    expect(entry.owner).toBe("root");
    expect(env.ok(["list", "-q"]).split("\n")).toContain(a);
    env.ok(["delete", a]);
  });

  test("state reports stopped when the process exited while no bunc was watching", async () => {
    const id = env.id();
    env.ok(["create", "--bundle", env.bundle(id, ["true"]), id]);
    env.ok(["start", id]);
    await env.waitStatus(id, "stopped");
    env.ok(["delete", id]);
  });

  test("--log with --log-format json records the error as runc does", () => {
    const log = join(env.dir, "log.json");
    writeFileSync(log, "");
    const r = Bun.spawnSync([
      BUNC,
      "--root",
      env.root,
      "--log",
      log,
      "--log-format",
      "json",
      "start",
      "missing",
    ]);
    expect(r.exitCode).toBe(1);
    const last = JSON.parse(readFileSync(log, "utf8").trim().split("\n").pop() ?? "{}");
    expect(last.level).toBe("error");
    expect(last.msg).toContain("missing");
    expect(Number.isNaN(Date.parse(last.time))).toBe(false);
  });
});

describe.skipIf(Bun.which("python3") === null)("--console-socket", () => {
  test("create sends the pty master to the console socket; the process talks through it", async () => {
    const id = env.id("console");
    const sock = join(env.dir, `${id}.sock`);
    const receiver = await consoleReceiver(sock, "hello\n", "got:hello");
    const bundle = env.bundle(id, ["sh", "-c", "read line; echo got:$line; sleep 1"], (c) => {
      c.process.terminal = true;
    });
    env.ok(["create", "--console-socket", sock, "--bundle", bundle, id]);
    // The waiting init holds the pty, not create's stdio (an engine reading that would wait forever).
    const { pid } = env.state(id);
    for (const fd of [0, 1, 2]) expect(readlinkSync(`/proc/${pid}/fd/${fd}`)).toMatch(/^\/dev\/pts\/\d+$/);
    env.ok(["start", id]);
    const out = await receiver.output;
    expect(out).toContain("isatty True");
    expect(out).toContain("got:hello");
    env.ok(["delete", "--force", id]);
  });
});

describe("creating", () => {
  /** Starts a create and stops it (SIGSTOP) while its state says creating. */
  async function caughtCreating(id: string): Promise<ReturnType<typeof Bun.spawn>> {
    const bundle = env.bundle(id, ["sleep", "100"]);
    const create = Bun.spawn([BUNC, "--root", env.root, "create", "--bundle", bundle, id], {
      stdio: ["ignore", "ignore", "ignore"],
    });
    const file = join(env.root, id, "state.json");
    for (let i = 0; i < 20000; i++) {
      if (existsSync(file) && readFileSync(file, "utf8").includes('"creating":true')) {
        create.kill("SIGSTOP");
        // Stopped while still creating: the state must still say so.
        if (readFileSync(file, "utf8").includes('"creating":true')) return create;
        create.kill("SIGCONT");
        break;
      }
      await Bun.sleep(0);
    }
    throw new Error("create was never caught while creating");
  }

  test("state says creating while create works, and created after", async () => {
    const id = env.id("creating");
    const create = await caughtCreating(id);
    expect(env.state(id).status).toBe("creating");
    create.kill("SIGCONT");
    expect(await create.exited).toBe(0);
    expect(env.state(id).status).toBe("created");
    env.ok(["delete", id]);
  });

  test("a create that died half-way is stopped, and delete removes what it left", async () => {
    const id = env.id("died");
    const create = await caughtCreating(id);
    create.kill("SIGKILL");
    await create.exited;
    await env.waitStatus(id, "stopped");
    env.ok(["delete", id]);
    expect(existsSync(join(env.root, id))).toBe(false);
    for (const d of env.cgroupDirs(id)) expect(existsSync(d)).toBe(false);
  });
});

describe("what engines rely on", () => {
  test("a new network namespace has its loopback up", () => {
    const r = runIn(env, ["cat", "/sys/class/net/lo/flags"]);
    expect(r.code).toBe(0);
    // IFF_UP | IFF_LOOPBACK (| IFF_RUNNING once up).
    expect(Number(r.stdout.trim()) & 0x1).toBe(1);
  });

  test("kill of a stopped container: --all succeeds, a plain kill says container not running", async () => {
    const id = env.id("kill");
    env.ok(["create", "--bundle", env.bundle(id, ["true"]), id]);
    env.ok(["start", id]);
    await env.waitStatus(id, "stopped");
    expect(env.bunc(["kill", "--all", id, "KILL"]).code).toBe(0);
    const r = env.bunc(["kill", id, "KILL"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`bunc: cannot kill container ${id}: container not running (it is stopped)\n`);
    env.ok(["delete", id]);
  });
});
