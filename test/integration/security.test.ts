// What must hold against a hostile local user or container process: the C
// object never comes from a shared temp dir, the init runs from a sealed
// read-only view of bunc (or, waiting for `start`, is the sealed waiter),
// with an environment of its own.
import { describe, expect, test } from "bun:test";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { O } from "../../src/sys/constants.ts";
import { sys } from "../../src/sys/lib.ts";
import { cstr } from "../../src/sys/mem.ts";
import { BUNC, useTestEnv } from "./harness.ts";

const env = useTestEnv();

const EROFS = 30;
const ETXTBSY = 26;

describe("security", () => {
  test("the C object is loaded from a sealed memfd, never from TMPDIR, even with planted libraries there", async () => {
    const tmp = join(env.dir, "hostile-tmp");
    mkdirSync(tmp);
    const marker = join(env.dir, "planted-ran");
    // A library that announces itself when loaded, planted under the names
    // Bun's default extraction uses for embedded shared objects.
    const src = join(env.dir, "evil.c");
    writeFileSync(
      src,
      `#include <stdio.h>\n__attribute__((constructor)) static void evil(void) { FILE *f = fopen("${marker}", "w"); if (f) fclose(f); }\n`,
    );
    const evil = join(env.dir, "evil.so");
    expect(Bun.spawnSync(["cc", "-shared", "-fPIC", "-o", evil, src]).exitCode).toBe(0);
    const bytes = readFileSync(evil);
    for (const name of [
      ".bun-0-libbunc.so",
      `.bun-${process.getuid?.()}-0000000000000000.so`,
      "libbunc.so",
    ]) {
      writeFileSync(join(tmp, name), bytes, { mode: 0o600 });
    }
    const before = readdirSync(tmp).sort();

    const id = env.id("sec");
    // A startContainer hook keeps the Bun init (with the C object loaded) waiting, not the waiter.
    const bundle = env.bundle(id, ["true"], (c) => {
      c.hooks = { startContainer: [{ path: "/bin/true" }] };
    });
    const environment = { PATH: "/usr/bin:/bin", TMPDIR: tmp };
    const r = env.bunc(["create", "--bundle", bundle, id], { env: environment });
    expect(r.stderr).toBe("");
    const { pid } = env.state(id);
    const maps = readFileSync(`/proc/${pid}/maps`, "utf8");
    expect(maps).toContain("/memfd:bunc (deleted)");
    expect(maps).not.toContain(tmp);
    expect(maps).not.toContain("/tmp/.bun-");
    Bun.spawnSync([BUNC, "--root", env.root, "state", id], { env: environment });
    expect(existsSync(marker)).toBe(false);
    expect(readdirSync(tmp).sort()).toEqual(before);
    env.ok(["delete", id]);
  });

  test("the init's binary cannot be reopened for writing, even after the user's program replaced it", async () => {
    const id = env.id("seal");
    const bundle = env.bundle(id, ["sleep", "100"], (c) => {
      c.hooks = { startContainer: [{ path: "/bin/true" }] };
    });
    env.ok(["create", "--bundle", bundle, id]);
    const { pid } = env.state(id);
    expect(readlinkSync(`/proc/${pid}/exe`)).not.toContain("bunc-wait");
    // What a container process would hold on to: a path fd of the init's exe.
    const exe = sys.bunc_openat2(-100, cstr(`/proc/${pid}/exe`), O.PATH | O.CLOEXEC, 0, 0);
    expect(exe).toBeGreaterThan(0);
    env.ok(["start", id]);
    await Bun.sleep(100);
    const write = sys.bunc_openat2(-100, cstr(`/proc/self/fd/${exe}`), O.WRONLY | O.CLOEXEC, 0, 0);
    if (write >= 0) sys.bunc_close(write);
    sys.bunc_close(exe);
    expect(write).toBe(-EROFS);
    env.ok(["delete", "--force", id]);
  });

  test("the waiter that holds a created container is sealed, holds no Bun, and only the fds the final act needs", async () => {
    const id = env.id("wait");
    env.ok(["create", "--bundle", env.bundle(id, ["sleep", "100"]), id]);
    const { pid } = env.state(id);
    expect(readlinkSync(`/proc/${pid}/exe`)).toBe("/memfd:bunc-wait (deleted)");
    const maps = readFileSync(`/proc/${pid}/maps`, "utf8");
    expect(maps).not.toContain("memfd:bunc (deleted)");
    expect(maps).not.toContain("libc.so");
    // Its memory is its own few pages, not a JavaScript runtime's.
    const anon = Number(/^RssAnon:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
    expect(anon).toBeLessThan(256);
    // What a container process could hold on to: a path fd of it. Nothing can
    // write it: not while it runs, not after (the memfd is sealed).
    const exe = sys.bunc_openat2(-100, cstr(`/proc/${pid}/exe`), O.PATH | O.CLOEXEC, 0, 0);
    expect(exe).toBeGreaterThan(0);
    const reopen = () => sys.bunc_openat2(-100, cstr(`/proc/self/fd/${exe}`), O.WRONLY | O.CLOEXEC, 0, 0);
    expect(reopen()).toBe(-ETXTBSY);
    // stdio, the state directory (for the exec fifo), the cgroup files it joins: nothing else.
    const held = readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`));
    const others = held
      .slice(3)
      .filter((t) => t !== join(env.root, id) && !/^\/sys\/fs\/cgroup\/.*\/(tasks|cgroup\.procs)$/.test(t));
    expect(others).toEqual([]);
    env.ok(["start", id]);
    await Bun.sleep(100);
    expect(readlinkSync(`/proc/${pid}/exe`)).toEndWith("/sleep");
    const write = reopen();
    sys.bunc_close(exe);
    expect(write).toBeGreaterThan(0);
    expect(() => writeSync(write, "x")).toThrow("EPERM");
    closeSync(write);
    env.ok(["delete", "--force", id]);
  });

  // Since 6.3 a pid namespace may make memfds non-executable unless created with MFD_EXEC.
  test.skipIf(!existsSync("/proc/sys/vm/memfd_noexec"))(
    "the waiter still runs where memfds are non-executable by default (vm.memfd_noexec=1, in a pid namespace of the test's)",
    () => {
      const id = env.id("noexec");
      const bundle = env.bundle(id, ["sh", "-c", "echo ran"]);
      const out = join(env.dir, `${id}.out`);
      const script = [
        "echo 1 > /proc/sys/vm/memfd_noexec",
        `"$0" --root "$1" create --bundle "$2" "$3" > "$4" 2>&1 || exit 1`,
        `pid=$("$0" --root "$1" state "$3" | sed -n 's/^ *"pid": \\([0-9]*\\),$/\\1/p')`,
        'readlink "/proc/$pid/exe"',
        `"$0" --root "$1" start "$3" && sleep 0.2 && "$0" --root "$1" delete "$3"`,
      ].join("\n");
      const r = Bun.spawnSync(
        ["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script, BUNC, env.root, bundle, id, out],
        { stdout: "pipe", stderr: "pipe" },
      );
      expect(r.stderr.toString()).toBe("");
      expect(r.stdout.toString()).toBe("/memfd:bunc-wait (deleted)\n");
      expect(readFileSync(out, "utf8")).toBe("ran\n");
    },
  );

  test("the init starts with an empty environment", () => {
    const id = env.id("env");
    const bundle = env.bundle(id, ["true"]);
    const r = env.bunc(["create", "--bundle", bundle, id], {
      env: { PATH: "/usr/bin:/bin", BUN_OPTIONS: "--smol", SECRET: "x" },
    });
    expect(r.code).toBe(0);
    const { pid } = env.state(id);
    expect(readFileSync(`/proc/${pid}/environ`, "utf8")).toBe("");
    env.ok(["delete", id]);
  });

  test("fds an engine passed without close-on-exec never reach the init, with or without a user namespace", async () => {
    const secret = join(env.dir, `engine-secret-${process.pid}`);
    writeFileSync(secret, "x");
    for (const userns of [false, true]) {
      const id = env.id("fds");
      const bundle = env.bundle(id, ["true"], (c) => {
        if (userns) c.linux!.namespaces!.push({ type: "user" });
        const pts = c.mounts!.find((m) => m.destination === "/dev/pts")!;
        pts.options = pts.options!.filter((o) => o !== "gid=5");
      });
      const file = openSync(secret, "r");
      // fds 3 and 7 of create: inherited, as an engine's pipes would be.
      const create = Bun.spawn([BUNC, "--root", env.root, "create", "--bundle", bundle, id], {
        stdio: ["ignore", "ignore", "pipe", file, "ignore", "ignore", "ignore", file],
      });
      expect(await create.exited).toBe(0);
      closeSync(file);
      const { pid } = env.state(id);
      const held = readdirSync(`/proc/${pid}/fd`).map((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return "";
        }
      });
      expect(held.filter((target) => target === secret)).toEqual([]);
      env.ok(["delete", id]);
    }
  });
});
