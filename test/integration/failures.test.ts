// Bad input gets one line naming what is wrong, exit 1, and nothing left behind.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../src/oci/config.ts";
import { useTestEnv } from "./harness.ts";

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

describe("config validation", () => {
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

  test("ids that are no ids: (uid_t)-1 would run the process as root", () => {
    expectRefused((c) => {
      c.process.user.uid = 4294967295;
    }, "process.user.uid: must be at most 4294967294: 4294967295 is not a valid id");
    expectRefused((c) => {
      c.process.user.additionalGids = [5, 4294967295];
    }, "process.user.additionalGids[1]: must be at most 4294967294: 4294967295 is not a valid id");
  });

  test("numbers out of their field's range are refused before they reach C", () => {
    expectRefused((c) => {
      c.process.scheduler = { policy: "SCHED_DEADLINE", runtime: 1e300 };
    }, "process.scheduler.runtime: must be a whole number from 0 to 18446744073709551615");
    expectRefused((c) => {
      c.linux!.devices = [{ type: "c", path: "/dev/big", major: 1e300, minor: 1 }];
    }, "linux.devices[0].major: must be at most 4095, got 1e+300");
    expectRefused((c) => {
      c.process.consoleSize = { height: 70000, width: 80 };
    }, "process.consoleSize.height: must be at most 65535, got 70000");
  });

  test("a negative device number is no wildcard: the rule is refused", () =>
    expectRefused((c) => {
      c.linux!.resources!.devices!.push({ allow: true, type: "c", major: -5, access: "rwm" });
    }, "linux.resources.devices[1].major: must be at least 0, got -5"));

  test("a NUL byte in a string the kernel would read is refused by its path", () => {
    expectRefused((c) => {
      c.process.cwd = "/tmp\u0000/x";
    }, "process.cwd: must not contain a NUL byte");
    expectRefused((c) => {
      c.process.env = ["A=1", "B=\u0000"];
    }, "process.env[1]: must not contain a NUL byte");
    expectRefused((c) => {
      c.mounts![0]!.destination = "/proc\u0000x";
    }, "mounts[0].destination: must not contain a NUL byte");
    expectRefused((c) => {
      c.linux!.cgroupsPath = "/x\u0000y";
    }, "linux.cgroupsPath: must not contain a NUL byte");
  });

  test("a newline in cgroupsPath gives one line", () =>
    expectRefused((c) => {
      c.linux!.cgroupsPath = `${c.linux!.cgroupsPath}\nsecond line`;
    }, "linux.cgroupsPath: must not contain control characters"));

  test("a root.path that does not exist is named", () =>
    expectRefused((c) => {
      c.root.path = "/nonexistent-rootfs";
    }, "root.path: /nonexistent-rootfs: ENOENT"));

  test("a field bunc does not support yet is refused by name", () =>
    expectRefused((c) => {
      c.linux!.intelRdt = { closID: "x" };
    }, "linux.intelRdt: not supported by bunc yet"));

  // This VM withholds CAP_SYS_RESOURCE (bit 24) from root: a capability to ask for that is not there.
  const held = BigInt(
    `0x${/^CapPrm:\s+(\w+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0"}`,
  );
  test.skipIf((held & (1n << 24n)) !== 0n)(
    "a capability bunc does not hold is refused at create, by name",
    () =>
      expectRefused((c) => {
        c.process.capabilities = { ...c.process.capabilities, permitted: ["CAP_SYS_RESOURCE", "CAP_CHOWN"] };
      }, "process.capabilities.permitted: CAP_SYS_RESOURCE is not held by bunc on this host, so the kernel would refuse it (capset)"),
  );

  test("a resource the host has no controller for is refused by name", () =>
    expectRefused((c) => {
      c.linux!.resources = { ...c.linux!.resources, network: { classID: 7 } };
    }, "linux.resources.network.classID: this host has no net_cls cgroup controller (cgroup2 has none, and no cgroup v1 hierarchy mounts it)"));

  test("a resource value out of its range is refused by its path", () =>
    expectRefused((c) => {
      c.linux!.resources = { ...c.linux!.resources, memory: { swappiness: 101 } };
    }, "linux.resources.memory.swappiness: must be from 0 to 100"));

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

describe("failures after the init started leave nothing behind", () => {
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

  test("a device node the init cannot make names its field", () =>
    expectRefused((c) => {
      c.linux!.devices = [{ type: "c", path: "/sys/kernel/nope", major: 1, minor: 3 }];
    }, /^bunc: linux\.devices\[0\]: .*\/sys\/kernel.*: Read-only file system\n$/));

  test("a masked path the init cannot cover names its field", () =>
    expectRefused((c) => {
      // Masking a file takes /dev/null; here /dev is the image's own, without one.
      c.mounts = c.mounts!.filter((m) => !m.destination.startsWith("/dev"));
      c.mounts.push({
        destination: "/dev",
        type: "bind",
        source: join(env.rootfs, "dev"),
        options: ["bind"],
      });
      c.linux!.maskedPaths = ["/etc/passwd"];
    }, "linux.maskedPaths[0]: open /dev/null in the container root: No such file or directory"));
});

describe("config.json itself", () => {
  function createWith(replace: (file: string) => void): { r: ReturnType<typeof env.bunc>; id: string } {
    const id = env.id("cfg");
    const bundle = env.bundle(id, ["true"]);
    const file = join(bundle, "config.json");
    rmSync(file);
    replace(file);
    return { r: env.bunc(["create", "--bundle", bundle, id]), id };
  }

  test("a symlink to a device, a FIFO, or a file over 64 MiB is refused at once", () => {
    const cases: [(f: string) => void, string][] = [
      [(f) => symlinkSync("/dev/zero", f), "is not a regular file"],
      [(f) => expect(Bun.spawnSync(["mkfifo", f]).exitCode).toBe(0), "is not a regular file"],
      [(f) => truncateSync(f, 65 << 20), "is larger than 64 MiB"],
    ];
    for (const [make, message] of cases) {
      const { r, id } = createWith((f) => {
        if (message.includes("larger")) writeFileSync(f, "");
        make(f);
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^bunc: \\S+/config\\.json ${message}\n$`));
      expect(existsSync(join(env.root, id))).toBe(false);
    }
  });
});

describe("command line", () => {
  test("invalid container ids", () => {
    for (const id of ["a/b", "..", ".x", "x".repeat(200)]) {
      const r = env.bunc(["state", id]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^bunc: (invalid container id|container id is longer)/);
    }
  });

  test("--debug adds the stack of a failure, as debug lines after the one-line error", () => {
    const id = env.id();
    const r = env.bunc(["--debug", "create", "--bundle", join(env.dir, "no-such-bundle"), id]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    const error = lines.findIndex((l) => l.startsWith("bunc: cannot read "));
    expect(error).toBeGreaterThanOrEqual(0);
    expect(lines.slice(error + 1).some((l) => l.includes("level=debug") && l.includes("\\n    at "))).toBe(
      true,
    );
    const plain = env.bunc(["create", "--bundle", join(env.dir, "no-such-bundle"), id]);
    expect(plain.stderr.trim().split("\n")).toHaveLength(1);
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

  test("--version names bunc, its commit, its target, the spec and Bun", () => {
    const out = env.ok(["--version"]);
    expect(out).toMatch(
      /^bunc version \d+\.\d+\.\d+\ncommit: \S+\ntarget: \S+\nspec: 1\.3\.0\nbun: \d+\.\d+\.\d+\n$/,
    );
    // The suite runs on the glibc host the binary was built on.
    expect(out).toContain(`\ntarget: linux-${process.arch}\n`);
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
