// Bad input gets one line naming what is wrong, exit 1, and nothing left behind.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../src/oci/config.ts";
import { isRoot, useTestEnv } from "./harness.ts";

const env = useTestEnv();

/** Processes whose command line mentions this env's directory. */
function ourProcesses(): string[] {
  const found: string[] = [];
  for (const pid of require("node:fs")
    .readdirSync("/proc")
    .filter((p: string) => /^\d+$/.test(p))) {
    try {
      const exe = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      const environ = readFileSync(`/proc/${pid}/cgroup`, "utf8");
      if (exe.includes(env.dir) || environ.includes(env.cgroupParent)) found.push(pid);
    } catch {}
  }
  return found;
}

function expectRefused(
  edit: (c: Config) => void,
  message: string | RegExp,
  raw?: (text: string) => string,
): void {
  const id = env.id("bad");
  const bundle = env.bundle(id, ["true"], edit);
  if (raw) writeFileSync(join(bundle, "config.json"), raw(readFileSync(join(bundle, "config.json"), "utf8")));
  const r = env.bunc(["create", "--bundle", bundle, id]);
  if (typeof message === "string") expect(r.stderr).toBe(`bunc: ${message}\n`);
  else expect(r.stderr).toMatch(message);
  expect(r.code).toBe(1);
  expect(existsSync(join(env.root, id))).toBe(false);
  for (const d of env.cgroupDirs(id)) expect(existsSync(d)).toBe(false);
  expect(env.leftovers()).toEqual([]);
  expect(ourProcesses()).toEqual([]);
}

describe.skipIf(!isRoot)("config validation", () => {
  test("missing process.args", () =>
    expectRefused((c) => {
      delete (c.process as Partial<Config["process"]>).args;
    }, "process.args: is required"));

  test("empty process.args", () =>
    expectRefused((c) => {
      c.process.args = [];
    }, "process.args: must name the program to run"));

  test("unsupported ociVersion", () =>
    expectRefused((c) => {
      c.ociVersion = "2.0.0";
    }, 'ociVersion: unsupported version "2.0.0"; bunc runs 1.0 to 1.3'));

  test("wrong type", () =>
    expectRefused((c) => {
      (c.process.user as unknown as { uid: string }).uid = "root";
    }, 'process.user.uid: expected a number, got "root"'));

  test("unknown namespace type", () =>
    expectRefused((c) => {
      (c.linux!.namespaces![2] as { type: string }).type = "nope";
    }, /^bunc: linux\.namespaces\[2\]\.type: expected one of "pid", .*, got "nope"\n$/));

  test("a field bunc does not support yet is refused by name", () =>
    expectRefused((c) => {
      c.linux!.intelRdt = { closID: "x" };
    }, "linux.intelRdt: not supported by bunc yet"));

  test("a resource limit other than devices is refused by name", () =>
    expectRefused((c) => {
      c.linux!.resources = { ...c.linux!.resources, memory: { limit: 1 << 24 } };
    }, "linux.resources.memory: not supported by bunc yet"));

  test("time offsets without a time namespace", () =>
    expectRefused((c) => {
      c.linux!.timeOffsets = { boottime: { secs: 1, nanosecs: 0 } };
    }, "linux.timeOffsets: needs a new time namespace in linux.namespaces"));

  test("an unknown capability", () =>
    expectRefused((c) => {
      c.process.capabilities!.bounding = ["CAP_NOPE"];
    }, 'process.capabilities.bounding[0]: unknown capability "CAP_NOPE"'));

  test("a bind mount whose source does not exist", () =>
    expectRefused((c) => {
      c.mounts!.push({ destination: "/x", type: "bind", source: "/nonexistent/src", options: ["bind"] });
    }, "mounts[7].source: /nonexistent/src does not exist"));

  test("a mount option that is not supported yet", () =>
    expectRefused((c) => {
      c.mounts!.push({ destination: "/x", type: "tmpfs", source: "tmpfs", options: ["copy-symlink"] });
    }, 'mounts[7].options: mount option "copy-symlink" is not supported by bunc yet'));

  test("invalid JSON", () =>
    expectRefused(
      () => {},
      /^bunc: config\.json is not valid JSON: .*\n$/,
      (t) => t.slice(1),
    ));
});

describe.skipIf(!isRoot)("failures after the init started leave nothing behind", () => {
  test("program not found", () =>
    expectRefused((c) => {
      c.process.args = ["/bin/nope"];
    }, "process.args[0]: /bin/nope is not an executable file in the container"));

  test("a mount the kernel refuses", () =>
    expectRefused((c) => {
      c.mounts!.push({ destination: "/x", type: "nosuchfs", source: "none" });
    }, "mounts[7]: mount nosuchfs on /x: No such device"));

  test("a namespace path that cannot be joined", () =>
    expectRefused((c) => {
      c.linux!.namespaces = c.linux!.namespaces!.map((n) =>
        n.type === "network" ? { type: "network", path: "/proc/self/ns/pid" } : n,
      );
    }, "linux.namespaces[1].path: /proc/self/ns/pid is not a network namespace"));
});

describe("command line", () => {
  test("invalid container ids", () => {
    for (const id of ["a/b", "..", ".x", "x".repeat(200)]) {
      const r = env.bunc(["state", id]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^bunc: (invalid container id|container id is longer)/);
    }
  });

  test("unknown flag and unknown command", () => {
    const flag = env.bunc(["delete", "--nope", "x"]);
    expect(flag.stderr).toBe("bunc: unknown flag --nope\n");
    expect(flag.code).toBe(1);
    const cmd = env.bunc(["frobnicate"]);
    expect(cmd.stderr).toBe('bunc: unknown command "frobnicate"; see bunc --help\n');
  });

  test("delete of a container that does not exist: an error, but not with --force", () => {
    const plain = env.bunc(["delete", "ghost"]);
    expect(plain.stderr).toBe("bunc: container ghost does not exist\n");
    expect(plain.code).toBe(1);
    expect(env.bunc(["delete", "--force", "ghost"]).code).toBe(0);
  });

  test("state of a container that does not exist", () => {
    const r = env.bunc(["state", "ghost"]);
    expect(r.stderr).toBe("bunc: container ghost does not exist\n");
    expect(r.code).toBe(1);
  });

  test("--version names bunc, its commit, the spec and Bun", () => {
    const out = env.ok(["--version"]);
    expect(out).toMatch(/^bunc version \d+\.\d+\.\d+\ncommit: \S+\nspec: 1\.3\.0\nbun: \d+\.\d+\.\d+\n$/);
  });

  test("spec writes a config that validates, and refuses to overwrite", () => {
    const dir = join(env.dir, "specdir");
    require("node:fs").mkdirSync(dir);
    env.ok(["spec", "--bundle", dir]);
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(config.process.terminal).toBe(true);
    expect(config.linux.resources.devices).toEqual([{ allow: false, access: "rwm" }]);
    const again = env.bunc(["spec", "--bundle", dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("exists");
  });

  test("create of a terminal config without --console-socket is refused", () => {
    const id = env.id();
    const r = env.bunc([
      "create",
      "--bundle",
      env.bundle(id, ["sh"], (c) => (c.process.terminal = true)),
      id,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("process.terminal: a terminal needs --console-socket");
    expect(existsSync(join(env.root, id))).toBe(false);
  });
});

describe.skipIf(!isRoot)("damaged state", () => {
  test("delete --force ends and removes a container whose state.json bunc cannot read", async () => {
    const id = env.id("damaged");
    env.ok(["create", "--bundle", env.bundle(id, ["sleep", "100"]), id]);
    const { pid } = env.state(id);
    const file = join(env.root, id, "state.json");
    // As an older bunc might have written it: a field renamed, another missing.
    const old = JSON.parse(readFileSync(file, "utf8"));
    old.cgroup.dirs = old.cgroup.dirs.map((d: { dir: string }) => ({ dir: d.dir }));
    delete old.creating;
    writeFileSync(file, JSON.stringify(old));
    const state = env.bunc(["state", id]);
    expect(state.code).toBe(1);
    expect(state.stderr).toContain(`state of container ${id} is damaged`);
    expect(env.bunc(["delete", id]).code).toBe(1);
    env.ok(["delete", "--force", id]);
    for (
      let i = 0;
      i < 100 && existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, "utf8") !== "";
      i++
    ) {
      await Bun.sleep(10);
    }
    expect(existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, "utf8") : "").toBe("");
    expect(existsSync(join(env.root, id))).toBe(false);
    for (const d of env.cgroupDirs(id)) expect(existsSync(d)).toBe(false);
  });
});
