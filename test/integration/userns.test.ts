// User namespaces: the runtime writes the id mappings while the child waits;
// the container's root is an unprivileged uid on the host, and the rootfs,
// devices and mounts still work. Joining a user namespace by path.
import { describe, expect, test } from "bun:test";
import {
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { Config } from "../../src/oci/config.ts";
import { runIn, useTestEnv } from "./harness.ts";

const env = useTestEnv();

const HOST_BASE = 200000;
const withUserns = (c: Config) => {
  c.linux!.namespaces!.push({ type: "user" });
  c.linux!.uidMappings = [{ containerID: 0, hostID: HOST_BASE, size: 65536 }];
  c.linux!.gidMappings = [{ containerID: 0, hostID: HOST_BASE, size: 65536 }];
};

function hostIds(pid: number): { uid: string; gid: string } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return { uid: /^Uid:\s+(\d+)/m.exec(status)?.[1] ?? "", gid: /^Gid:\s+(\d+)/m.exec(status)?.[1] ?? "" };
}

describe("user namespaces", () => {
  test("the default spec in a new user namespace: mappings, ids, devices, mounts", () => {
    const r = runIn(
      env,
      [
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; stat -c '%t:%T' /dev/null /dev/zero; echo x > /dev/null && echo null-ok; hostname; touch / 2>&1 | grep -c Read-only",
      ],
      withUserns,
    );
    expect(r.stderr).toBe("");
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => l.trim().replace(/\s+/g, " "));
    expect(lines).toEqual([
      `0 ${HOST_BASE} 65536`,
      `0 ${HOST_BASE} 65536`,
      "0",
      "0",
      "1:3",
      "1:5",
      "null-ok",
      "bunc",
      "1",
    ]);
  });

  test("the container's root and process users are unprivileged uids on the host", async () => {
    const id = env.id("userns");
    env.ok([
      "run",
      "--detach",
      "--bundle",
      env.bundle(id, ["sleep", "100"], (c) => {
        withUserns(c);
        c.process.user = { uid: 1000, gid: 1000 };
      }),
      id,
    ]);
    const { pid } = env.state(id);
    expect(hostIds(pid)).toEqual({ uid: String(HOST_BASE + 1000), gid: String(HOST_BASE + 1000) });
    expect(readlinkSync(`/proc/${pid}/ns/user`)).not.toBe(readlinkSync("/proc/self/ns/user"));
    env.ok(["delete", "--force", id]);
  });

  test("a user namespace joined by path, with new namespaces it owns", () => {
    const a = env.id("owner");
    env.ok(["run", "--detach", "--bundle", env.bundle(a, ["sleep", "100"], withUserns), a]);
    const pidA = env.state(a).pid;
    const r = runIn(
      env,
      ["sh", "-c", "readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u; echo $$"],
      (c) => {
        c.linux!.namespaces!.push({ type: "user", path: `/proc/${pidA}/ns/user` });
      },
    );
    expect(r.stderr).toBe("");
    const [ns, map, uid, pid] = r.stdout
      .trim()
      .split("\n")
      .map((l) => l.trim().replace(/\s+/g, " "));
    expect(ns).toBe(readlinkSync(`/proc/${pidA}/ns/user`));
    expect(map).toBe(`0 ${HOST_BASE} 65536`);
    expect(uid).toBe("0");
    expect(pid).toBe("1");
    env.ok(["delete", "--force", a]);
  });

  test("a new user namespace without mappings maps the caller to root, as crun does", () => {
    const r = runIn(env, ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u"], (c) => {
      c.linux!.namespaces!.push({ type: "user" });
      // Only root is mapped: devpts cannot take gid 5 (crun's rootless spec drops it too).
      const pts = c.mounts!.find((m) => m.destination === "/dev/pts")!;
      pts.options = pts.options!.filter((o) => o !== "gid=5");
    });
    expect(r.stderr).toBe("");
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    expect(r.stdout.split("\n").map((l) => l.trim().replace(/\s+/g, " "))).toEqual([
      `0 ${uid} 1`,
      `0 ${gid} 1`,
      "0",
      "",
    ]);
  });

  test("a new user namespace with a network namespace joined by path", async () => {
    const a = env.id("netowner");
    env.ok(["run", "--detach", "--bundle", env.bundle(a, ["sleep", "100"]), a]);
    const pidA = env.state(a).pid;
    const r = runIn(env, ["sh", "-c", "readlink /proc/self/ns/net; cat /proc/self/uid_map"], (c) => {
      withUserns(c);
      c.linux!.namespaces = c.linux!.namespaces!.map((n) =>
        n.type === "network" ? { type: "network", path: `/proc/${pidA}/ns/net` } : n,
      );
      // A fresh sysfs needs the network namespace's owner: bind the host's, as rootless specs do.
      const sys = c.mounts!.find((m) => m.destination === "/sys")!;
      Object.assign(sys, {
        type: "bind",
        source: "/sys",
        options: ["rbind", "nosuid", "noexec", "nodev", "ro"],
      });
    });
    expect(r.stderr).toBe("");
    const [net, map] = r.stdout.trim().split("\n");
    expect(net).toBe(readlinkSync(`/proc/${pidA}/ns/net`));
    expect(map?.trim().replace(/\s+/g, " ")).toBe(`0 ${HOST_BASE} 65536`);
    env.ok(["delete", "--force", a]);
  });

  // CVE-2016-9962: an init that joins a user namespace must be out of reach
  // of that namespace's processes while it holds the runtime's fds, even of
  // those with CAP_SYS_PTRACE there (non-dumpable alone does not stop them).
  test("an init joining a user namespace cannot be inspected from it, even with CAP_SYS_PTRACE", async () => {
    const shared = join(env.dir, `ptrace-${Math.floor(Math.random() * 1e9)}`);
    mkdirSync(shared);
    chownSync(shared, HOST_BASE, HOST_BASE);
    // A watches the target it is given: can it list its fds (ptrace read access)?
    const watch = [
      "for round in 1 2; do",
      "  while [ ! -s /tmp/s/go$round ]; do sleep 0.02; done",
      "  t=$(cat /tmp/s/go$round)",
      "  if ls /proc/$t/fd >/dev/null 2>&1; then echo yes > /tmp/s/r$round; else echo no > /tmp/s/r$round; fi",
      "done; sleep 100",
    ].join("\n");
    const a = env.id("tracer");
    env.ok([
      "run",
      "--detach",
      "--bundle",
      env.bundle(a, ["sh", "-c", watch], (c) => {
        withUserns(c);
        const caps = ["CAP_SYS_PTRACE", "CAP_KILL", "CAP_AUDIT_WRITE", "CAP_NET_BIND_SERVICE"];
        c.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
        c.mounts!.push({ destination: "/tmp/s", type: "bind", source: shared, options: ["bind"] });
      }),
      a,
    ]);
    const pidA = env.state(a).pid;
    const b = env.id("joiner");
    env.ok([
      "create",
      "--bundle",
      env.bundle(b, ["sleep", "100"], (c) => {
        c.linux!.namespaces = c.linux!.namespaces!.map((n) =>
          n.type === "pid" ? { type: "pid", path: `/proc/${pidA}/ns/pid` } : n,
        );
        c.linux!.namespaces.push({ type: "user", path: `/proc/${pidA}/ns/user` });
      }),
      b,
    ]);
    const pidB = env.state(b).pid;
    // B's init as A's pid namespace numbers it.
    const nspid = /^NSpid:.*\s(\d+)$/m.exec(readFileSync(`/proc/${pidB}/status`, "utf8"))?.[1];
    const answer = async (round: number) => {
      writeFileSync(join(shared, `go${round}`), `${nspid}\n`);
      for (let i = 0; i < 500 && !existsSync(join(shared, `r${round}`)); i++) await Bun.sleep(10);
      await Bun.sleep(20);
      return readFileSync(join(shared, `r${round}`), "utf8").trim();
    };
    // The waiting init: out of reach.
    expect(await answer(1)).toBe("no");
    // The same process once it is the container's own program: in reach,
    // which shows the check above could have said yes.
    env.ok(["start", b]);
    expect(await answer(2)).toBe("yes");
    env.ok(["delete", "--force", b]);
    env.ok(["delete", "--force", a]);
  });

  test("mappings the process needs but lacks, and mappings without a user namespace, are refused by name", () => {
    const noRoot = runIn(env, ["true"], (c) => {
      withUserns(c);
      c.linux!.uidMappings = [{ containerID: 1, hostID: HOST_BASE, size: 10 }];
    });
    expect(noRoot.stderr).toBe("bunc: linux.uidMappings: must map container uid 0, which the init runs as\n");
    const unmappedUser = runIn(env, ["true"], (c) => {
      withUserns(c);
      c.linux!.uidMappings = [{ containerID: 0, hostID: HOST_BASE, size: 10 }];
      c.process.user = { uid: 1000, gid: 0 };
    });
    expect(unmappedUser.stderr).toBe("bunc: process.user.uid: 1000 is not in linux.uidMappings\n");
    const noNs = runIn(env, ["true"], (c) => {
      c.linux!.uidMappings = [{ containerID: 0, hostID: HOST_BASE, size: 10 }];
    });
    expect(noNs.stderr).toBe("bunc: linux.uidMappings: needs a new user namespace in linux.namespaces\n");
  });
});

describe("id-mapped mounts", () => {
  function hostDir(): string {
    const dir = join(env.dir, `idmap-${Math.floor(Math.random() * 1e9)}`);
    mkdirSync(join(dir, "sub"), { recursive: true });
    writeFileSync(join(dir, "root-file"), "x");
    writeFileSync(join(dir, "sub", "f"), "y");
    chownSync(join(dir, "root-file"), 0, 0);
    return dir;
  }

  test("idmap with the mount's own mappings: on-disk ids appear mapped", () => {
    const dir = hostDir();
    const r = runIn(
      env,
      ["sh", "-c", "stat -c %u:%g /mnt/m/root-file; grep -c idmapped /proc/self/mountinfo"],
      (c) => {
        c.mounts!.push({
          destination: "/mnt/m",
          type: "bind",
          source: dir,
          options: ["rbind", "idmap"],
          uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
          gidMappings: [{ containerID: 0, hostID: 2000, size: 1 }],
        });
      },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("1000:2000\n1\n");
    // The files themselves are unchanged.
    expect(statSync(join(dir, "root-file")).uid).toBe(0);
  });

  test("idmap without mappings takes the container's user namespace: host root files are the container root's", () => {
    const dir = hostDir();
    const r = runIn(
      env,
      ["sh", "-c", "stat -c %u:%g /mnt/m/root-file; echo more >> /mnt/m/root-file && echo written"],
      (c) => {
        withUserns(c);
        c.mounts!.push({ destination: "/mnt/m", type: "bind", source: dir, options: ["bind", "idmap"] });
      },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("0:0\nwritten\n");
    expect(readFileSync(join(dir, "root-file"), "utf8")).toBe("xmore\n");
  });

  test("ridmap maps the mounts below the source too", () => {
    const dir = hostDir();
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", join(dir, "sub")]).exitCode).toBe(
      0,
    );
    try {
      writeFileSync(join(dir, "sub", "below"), "z");
      const mapping = {
        uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
        gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
      };
      const r = runIn(env, ["sh", "-c", "stat -c %u /mnt/m/root-file /mnt/m/sub/below"], (c) => {
        c.mounts!.push({
          destination: "/mnt/m",
          type: "bind",
          source: dir,
          options: ["rbind", "ridmap"],
          ...mapping,
        });
      });
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("1000\n1000\n");
    } finally {
      Bun.spawnSync(["umount", join(dir, "sub")]);
    }
  });

  test("misuse of idmap and ridmap is refused by name", () => {
    const plain = runIn(env, ["true"], (c) => {
      c.mounts!.push({ destination: "/mnt/m", type: "bind", source: env.dir, options: ["bind", "idmap"] });
    });
    expect(plain.stderr).toBe(
      "bunc: mounts[7].uidMappings: idmap needs mappings here or a new user namespace to take them from\n",
    );
    const onTmpfs = runIn(env, ["true"], (c) => {
      c.mounts!.push({ destination: "/mnt/m", type: "tmpfs", source: "tmpfs", options: ["ridmap"] });
    });
    expect(onTmpfs.stderr).toBe("bunc: mounts[7].options: ridmap applies to bind mounts only\n");
    const noOption = runIn(env, ["true"], (c) => {
      c.mounts!.push({
        destination: "/mnt/m",
        type: "bind",
        source: env.dir,
        options: ["bind"],
        uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
      });
    });
    expect(noOption.stderr).toBe(
      "bunc: mounts[7].uidMappings: mappings of a mount need the idmap or ridmap option\n",
    );
  });
});

describe.skipIf(!existsSync("/dev/fuse"))("devices in a user namespace", () => {
  test("linux.devices are bound from the host where mknod is not permitted", () => {
    const r = runIn(
      env,
      ["sh", "-c", "stat -c '%t:%T %F' /dev/fuse; grep -c ' /dev/fuse ' /proc/self/mountinfo"],
      (c) => {
        withUserns(c);
        c.linux!.devices = [{ type: "c", path: "/dev/fuse", major: 10, minor: 229 }];
      },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("a:e5 character special file\n1\n");
  });
});
