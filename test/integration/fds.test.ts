// The caller's fds a container gets: --preserve-fds on create and run, and
// systemd's socket activation (LISTEN_FDS/LISTEN_PID), each checked from
// inside the container, with and without namespaces that change how the
// init is started.
import { describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../src/oci/config.ts";
import { BUNC, useTestEnv, withUserns } from "./harness.ts";

const env = useTestEnv();

/**
 * Runs bunc under sh with fd 3 reading "three" and fd 4 "four" (and `pre`
 * before); output in files, as a created container keeps the caller's stdio.
 */
function withFds(args: string[], pre = ""): { code: number; stdout: string; stderr: string } {
  const [f3, f4, out, err] = ["fd3", "fd4", "out", "err"].map((f) => join(env.dir, `fds-${f}`)) as [
    string,
    string,
    string,
    string,
  ];
  writeFileSync(f3, "three\n");
  writeFileSync(f4, "four\n");
  for (const f of [out, err]) rmSync(f, { force: true });
  const r = Bun.spawnSync(
    ["sh", "-c", `exec 3<"${f3}" 4<"${f4}"; ${pre} exec "$0" --root "$@"`, BUNC, env.root, ...args],
    { stdout: Bun.file(out), stderr: Bun.file(err), env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } },
  );
  return { code: r.exitCode ?? -1, stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8") };
}

// The fds the process holds (ls's own directory fd aside), and what 3 and 4 read.
const SHOW = "echo $(ls /proc/self/fd); cat 2>/dev/null <&3; cat 2>/dev/null <&4";

const layouts: [string, ((c: Config) => void) | undefined][] = [
  ["new namespaces", undefined],
  ["a user namespace (the init is started through the enter stage)", withUserns],
];

describe("--preserve-fds", () => {
  for (const [name, edit] of layouts)
    test(`run passes fds 3 and 4 on, and nothing else: ${name}`, () => {
      const id = env.id("pf");
      const r = withFds([
        "run",
        "--preserve-fds",
        "2",
        "--bundle",
        env.bundle(id, ["sh", "-c", SHOW], edit),
        id,
      ]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("0 1 2 3 4 5\nthree\nfour\n");
      expect(r.code).toBe(0);
    });

  test("create holds them for the process until start; without the flag it gets none", async () => {
    const id = env.id("pf");
    const bundle = env.bundle(id, ["sh", "-c", SHOW]);
    const created = withFds(["create", "--preserve-fds", "1", "--bundle", bundle, id]);
    expect(created.stderr).toBe("");
    env.ok(["start", id]);
    await env.waitStatus(id, "stopped");
    env.ok(["delete", id]);
    // The container kept create's stdout.
    const out = readFileSync(join(env.dir, "fds-out"), "utf8");
    expect(out).toBe("0 1 2 3 4\nthree\n");
    const plain = withFds(["run", "--bundle", env.bundle(env.id("pf"), ["sh", "-c", SHOW]), env.id("pf")]);
    expect(plain.stdout).toBe("0 1 2 3\n");
  });

  test("an fd the caller did not pass is refused by number, and nothing is left", () => {
    const id = env.id("pf");
    const r = withFds(["run", "--preserve-fds", "3", "--bundle", env.bundle(id, ["true"]), id]);
    // Bun's event loop took the lowest free fd.
    expect(r.stderr).toMatch(
      /^bunc: --preserve-fds: fd 5 is not one the caller passed \(it is bunc's own anon_inode:.*\)\n$/,
    );
    expect(r.code).not.toBe(0);
    expect(env.bunc(["state", id]).code).not.toBe(0);
    expect(withFds(["run", "--preserve-fds", "x", "--bundle", env.bundle(id, ["true"]), id]).stderr).toBe(
      'bunc: --preserve-fds: "x" is not a count of fds\n',
    );
  });
});

describe("socket activation: LISTEN_FDS", () => {
  const ENV = "echo $LISTEN_FDS $LISTEN_PID $LISTEN_FDNAMES";

  test("fds meant for bunc (LISTEN_PID is its pid) go first, then --preserve-fds; the process sees its own pid", () => {
    const id = env.id("lf");
    const r = withFds(
      ["run", "--preserve-fds", "1", "--bundle", env.bundle(id, ["sh", "-c", `${ENV}; ${SHOW}`]), id],
      "LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=web",
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("1 1 web\n0 1 2 3 4 5\nthree\nfour\n");
  });

  test("without a pid namespace LISTEN_PID is the host pid of the process", () => {
    const id = env.id("lf");
    const bundle = env.bundle(id, ["sh", "-c", "echo $LISTEN_PID $$"], (c) => {
      c.linux = { ...c.linux, namespaces: c.linux?.namespaces?.filter((n) => n.type !== "pid") };
    });
    const r = withFds(["run", "--bundle", bundle, id], "LISTEN_PID=$$ LISTEN_FDS=2");
    expect(r.stderr).toBe("");
    const [listenPid, own] = r.stdout.trim().split(" ");
    expect(listenPid).toBe(own);
    expect(Number(own)).toBeGreaterThan(1);
  });

  test("fds meant for another process (LISTEN_PID is not bunc's) are not passed", () => {
    const id = env.id("lf");
    const r = withFds(
      ["run", "--bundle", env.bundle(id, ["sh", "-c", `${ENV}; ${SHOW}`]), id],
      "LISTEN_PID=1 LISTEN_FDS=2",
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("\n0 1 2 3\n");
  });
});
