// What the process sees inside a container, checked from inside and outside.
import { describe, expect, test } from "bun:test";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { Config } from "../../src/oci/config.ts";
import { BUNC, runIn, useTestEnv } from "./harness.ts";

const env = useTestEnv();

const sh = (script: string) => ["sh", "-c", script];

function mountOf(mountinfo: string, target: string): { opts: string[]; fstype: string; superOpts: string[] } {
  for (const line of mountinfo.split("\n")) {
    const [pre, post] = line.split(" - ");
    const f = pre?.split(" ") ?? [];
    if (f[4] === target && post) {
      const [fstype = "", , superOpts = ""] = post.split(" ");
      return { opts: (f[5] ?? "").split(","), fstype, superOpts: superOpts.split(",") };
    }
  }
  throw new Error(`no mount at ${target} in:\n${mountinfo}`);
}

describe("namespaces", () => {
  test("the process is PID 1 with its own hostname and new namespaces", () => {
    const r = runIn(
      env,
      sh("echo $$; hostname; for n in pid mnt uts ipc net cgroup; do readlink /proc/self/ns/$n; done"),
    );
    expect(r.code).toBe(0);
    const [pid, hostname, ...ns] = r.stdout.trim().split("\n");
    expect(pid).toBe("1");
    expect(hostname).toBe("bunc");
    const host = ["pid", "mnt", "uts", "ipc", "net", "cgroup"].map((n) => readlinkSync(`/proc/self/ns/${n}`));
    expect(ns).toHaveLength(6);
    for (const [i, inside] of ns.entries()) expect(inside).not.toBe(host[i]);
  });

  test("namespaces given by path are joined, including pid", async () => {
    const a = env.id("ns");
    env.ok(["run", "--detach", "--bundle", env.bundle(a, ["sleep", "100"]), a]);
    const pidA = env.state(a).pid;
    const types = ["pid", "network", "ipc", "uts", "mount", "cgroup"] as const;
    const file = {
      pid: "pid",
      network: "net",
      ipc: "ipc",
      uts: "uts",
      mount: "mnt",
      cgroup: "cgroup",
    } as const;
    const r = runIn(env, sh("for n in pid net ipc uts cgroup; do readlink /proc/self/ns/$n; done"), (c) => {
      c.linux!.namespaces = types.map((type) =>
        type === "mount" ? { type } : { type, path: `/proc/${pidA}/ns/${file[type]}` },
      );
      delete c.hostname;
      // /proc belongs to the joined pid namespace: mount it again for ours.
    });
    expect(r.stderr).toBe("");
    const expected = ["pid", "net", "ipc", "uts", "cgroup"].map((n) => readlinkSync(`/proc/${pidA}/ns/${n}`));
    expect(r.stdout.trim().split("\n")).toEqual(expected);
    env.ok(["delete", "--force", a]);
  });

  test("without a uts namespace a hostname is refused", () => {
    const r = runIn(env, ["true"], (c) => {
      c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== "uts");
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("hostname: cannot set a hostname without a uts namespace");
  });

  test("the cgroup namespace is rooted at the container's cgroup", () => {
    const r = runIn(env, ["cat", "/proc/self/cgroup"]);
    expect(r.code).toBe(0);
    for (const line of r.stdout.trim().split("\n")) expect(line).toMatch(/:\/$/);
  });
});

describe("root filesystem and mounts", () => {
  test("pivot_root: only the rootfs is visible, read-only when asked", () => {
    const r = runIn(env, sh("ls /; echo --; touch /x 2>&1; echo rc=$?; cat /proc/self/mountinfo"));
    const [listing = "", rest = ""] = r.stdout.split("--\n");
    expect(listing.trim().split("\n")).toEqual(readdirSync(env.rootfs).sort());
    expect(rest).toContain("Read-only file system\nrc=1");
    expect(mountOf(rest, "/").opts).toContain("ro");
    // No mount point outside what the config asked for: the old root is gone.
    const points = rest
      .split("\n")
      .filter((l) => l.includes(" - "))
      .map((l) => l.split(" ")[4] ?? "");
    for (const p of points) expect(p).toMatch(/^\/(proc|dev|sys)?(\/|$)/);
  });

  test("root.path relative to the bundle, writable when readonly is false", () => {
    const id = env.id();
    const bundle = env.bundle(id, sh("echo hi > /made && cat /made"), (c) => {
      c.root = { path: "rootfs", readonly: false };
    });
    cpSync(env.rootfs, join(bundle, "rootfs"), { recursive: true, verbatimSymlinks: true });
    const r = env.bunc(["run", "--bundle", bundle, id]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hi\n");
    expect(readFileSync(join(bundle, "rootfs/made"), "utf8")).toBe("hi\n");
  });

  test("the config's mounts with their options", () => {
    const host = join(env.dir, "hostdir");
    mkdirSync(join(host, "sub"), { recursive: true });
    writeFileSync(join(host, "file"), "host file\n");
    const r = runIn(
      env,
      sh(
        "cat /mnt/ro/file; touch /mnt/ro/x 2>/dev/null || echo ro-refused; touch /mnt/rw/made && echo rw-ok; cat /one; cat /proc/self/mountinfo",
      ),
      (c) => {
        c.mounts!.push(
          { destination: "/mnt/ro", type: "bind", source: host, options: ["rbind", "ro", "nosuid", "nodev"] },
          { destination: "/mnt/rw", type: "bind", source: host, options: ["bind"] },
          { destination: "/one", type: "bind", source: join(host, "file"), options: ["bind", "ro"] },
          {
            destination: "/mnt/tmp",
            type: "tmpfs",
            source: "tmpfs",
            options: ["noexec", "mode=700", "size=2m"],
          },
        );
      },
    );
    expect(r.stderr).toBe("");
    const out = r.stdout;
    expect(out).toStartWith("host file\nro-refused\nrw-ok\nhost file\n");
    expect(readFileSync(join(host, "made"), "utf8")).toBe("");
    const ro = mountOf(out, "/mnt/ro");
    expect(ro.opts).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev"]));
    expect(mountOf(out, "/mnt/rw").opts).toContain("rw");
    expect(mountOf(out, "/one").opts).toContain("ro");
    const tmp = mountOf(out, "/mnt/tmp");
    expect(tmp.fstype).toBe("tmpfs");
    expect(tmp.opts).toContain("noexec");
    expect(tmp.superOpts).toEqual(expect.arrayContaining(["size=2048k", "mode=700"]));
    expect(mountOf(out, "/proc").fstype).toBe("proc");
    expect(mountOf(out, "/sys").opts).toContain("ro");
    expect(mountOf(out, "/dev/pts").fstype).toBe("devpts");
    expect(mountOf(out, "/dev/mqueue").fstype).toBe("mqueue");
    expect(mountOf(out, "/dev/shm").superOpts).toContain("size=65536k");
    expect(mountOf(out, "/sys/fs/cgroup").opts).toContain("ro");
    expect(mountOf(out, "/sys/fs/cgroup/memory").opts).toContain("ro");
  });

  test("the default /dev nodes and links", () => {
    const r = runIn(
      env,
      sh(
        "for f in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$f; done; for l in fd stdin stdout stderr ptmx; do echo /dev/$l $(readlink /dev/$l); done; echo x > /dev/null && head -c 3 /dev/zero | wc -c",
      ),
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toEqual([
      "/dev/null character special file 1:3 666",
      "/dev/zero character special file 1:5 666",
      "/dev/full character special file 1:7 666",
      "/dev/random character special file 1:8 666",
      "/dev/urandom character special file 1:9 666",
      "/dev/tty character special file 5:0 666",
      "/dev/fd /proc/self/fd",
      "/dev/stdin /proc/self/fd/0",
      "/dev/stdout /proc/self/fd/1",
      "/dev/stderr /proc/self/fd/2",
      "/dev/ptmx pts/ptmx",
      "3",
    ]);
  });

  test("masked and read-only paths", () => {
    const r = runIn(
      env,
      sh(
        "cat /proc/kcore | wc -c; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo ro; cat /proc/self/mountinfo",
      ),
    );
    expect(r.stdout).toStartWith("0\n0\nro\n");
    expect(mountOf(r.stdout, "/proc/sys").opts).toContain("ro");
    expect(mountOf(r.stdout, "/sys/firmware").fstype).toBe("tmpfs");
  });
});

describe("process", () => {
  test("args, env, cwd, uid, gid and additional gids", () => {
    const r = runIn(env, ["sh", "-c", 'echo "$FOO|$0|$1"; pwd; id -u; id -g; id -G', "zero", "one"], (c) => {
      c.process.env = ["PATH=/bin", "FOO=bar baz"];
      c.process.cwd = "/tmp";
      c.process.user = { uid: 1000, gid: 1001, additionalGids: [5, 1002] };
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toEqual(["bar baz|zero|one", "/tmp", "1000", "1001", "1001 5 1002"]);
  });

  test("capabilities, no_new_privs, rlimits and signal dispositions as configured", () => {
    const r = runIn(
      env,
      sh("grep -E '^(Cap|NoNewPrivs|SigIgn|SigBlk)' /proc/self/status; grep 'open files' /proc/self/limits"),
    );
    const status = Object.fromEntries(
      r.stdout
        .trim()
        .split("\n")
        .filter((l) => l.includes(":\t"))
        .map((l) => l.split(":\t") as [string, string]),
    );
    const mask = ((1n << 5n) | (1n << 10n) | (1n << 29n)).toString(16).padStart(16, "0");
    expect(status.CapBnd).toBe(mask);
    expect(status.CapEff).toBe(mask);
    expect(status.CapPrm).toBe(mask);
    expect(status.CapInh).toBe("0000000000000000");
    expect(status.CapAmb).toBe("0000000000000000");
    expect(status.NoNewPrivs).toBe("1");
    expect(status.SigIgn).toBe("0000000000000000");
    expect(status.SigBlk).toBe("0000000000000000");
    expect(r.stdout).toMatch(/Max open files\s+1024\s+1024/);
  });

  test("a program not found fails create with a clear error", () => {
    const r = runIn(env, ["no-such-program"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('bunc: process.args[0]: executable file "no-such-program" not found in $PATH\n');
  });

  test("process.consoleSize sets the terminal's size", () => {
    const r = runIn(env, ["stty", "size"], (c) => {
      c.process.terminal = true;
      c.process.consoleSize = { height: 40, width: 100 };
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.replaceAll("\r", "")).toBe("40 100\n");
  });

  test("a terminal: the process gets a pty as its controlling terminal and /dev/console", () => {
    const r = runIn(
      env,
      sh("tty; test -t 0 && echo stdin-is-tty; stat -c %t /dev/console; read line; echo got $line"),
      (c) => {
        c.process.terminal = true;
      },
      "typed\n",
    );
    expect(r.code).toBe(0);
    const lines = r.stdout.replaceAll("\r", "").trim().split("\n");
    expect(lines).toContain("/dev/pts/0");
    expect(lines).toContain("stdin-is-tty");
    expect(lines).toContain("88");
    expect(lines).toContain("got typed");
  });
});

describe("process attributes", () => {
  /** Runs `script` detached, gives the host side the container's pid, then deletes it. */
  async function whileRunning(
    edit: (c: Config) => void,
    check: (pid: number, out: string) => void,
  ): Promise<void> {
    const id = env.id("attr");
    const out = join(env.dir, `${id}.out`);
    writeFileSync(out, "");
    const bundle = env.bundle(
      id,
      sh(
        "cat /proc/self/oom_score_adj; grep -E '^(Cpus_allowed_list)' /proc/self/status; cut -d' ' -f19 /proc/self/stat; uname -m; cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax > /out/sys; exec sleep 100 > /dev/null",
      ),
      (c) => {
        c.mounts!.push({ destination: "/out", type: "bind", source: env.dir, options: ["bind"] });
        edit(c);
      },
    );
    // Files, not pipes: the detached container keeps its stdio open.
    const err = `${out}.err`;
    const r = Bun.spawnSync([BUNC, "--root", env.root, "run", "--detach", "--bundle", bundle, id], {
      stdout: Bun.file(out),
      stderr: Bun.file(err),
    });
    expect(readFileSync(err, "utf8")).toBe("");
    expect(r.exitCode).toBe(0);
    const { pid } = env.state(id);
    for (let i = 0; i < 100 && !readFileSync(out, "utf8").includes("\n", 40); i++) await Bun.sleep(10);
    try {
      check(pid, readFileSync(out, "utf8"));
    } finally {
      env.ok(["delete", "--force", id]);
    }
  }

  test("oomScoreAdj, execCPUAffinity, scheduler, ioPriority, personality and namespaced sysctls", async () => {
    // The container's value differs from the host's, which must stay as it is.
    const host = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
    const inside = host.trim() === "1" ? "0" : "1";
    await whileRunning(
      (c) => {
        c.process.oomScoreAdj = 500;
        c.process.execCPUAffinity = { initial: "0", final: "1" };
        c.process.scheduler = { policy: "SCHED_BATCH", nice: 7 };
        c.process.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 6 };
        c.linux!.personality = { domain: "LINUX32" };
        c.linux!.sysctl = { "net.ipv4.ip_forward": inside, "kernel.shmmax": "123456789" };
      },
      (pid, out) => {
        expect(out.trim().split("\n").slice(0, 4)).toEqual(["500", "Cpus_allowed_list:\t1", "7", "i686"]);
        expect(Bun.spawnSync(["chrt", "-p", String(pid)]).stdout.toString()).toContain("SCHED_BATCH");
        expect(
          Bun.spawnSync(["ionice", "-p", String(pid)])
            .stdout.toString()
            .trim(),
        ).toBe("best-effort: prio 6");
      },
    );
    expect(readFileSync(join(env.dir, "sys"), "utf8")).toBe(`${inside}\n123456789\n`);
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")).toBe(host);
  });

  test("a sysctl no namespace of the container isolates is refused", () => {
    const r = runIn(env, ["true"], (c) => {
      c.linux!.sysctl = { "vm.swappiness": "10" };
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "bunc: linux.sysctl.vm.swappiness: is not isolated by a namespace; bunc refuses to change it for the whole host\n",
    );
  });

  test("what needs a privilege or an LSM the host lacks is refused by name", () => {
    const status = readFileSync("/proc/self/status", "utf8");
    const hasSysResource = ((BigInt(`0x${/CapEff:\s*(\w+)/.exec(status)?.[1]}`) >> 24n) & 1n) === 1n;
    // Lowering oom_score_adj needs CAP_SYS_RESOURCE.
    const lowerOom = runIn(env, ["cat", "/proc/self/oom_score_adj"], (c) => {
      c.process.oomScoreAdj = -500;
    });
    if (hasSysResource) expect(lowerOom.stdout).toBe("-500\n");
    else
      expect(lowerOom.stderr).toStartWith(
        'bunc: process.oomScoreAdj: write "-500" to /proc/self/oom_score_adj: ',
      );

    const hard = Number(Bun.spawnSync(["sh", "-c", "ulimit -Hn"]).stdout.toString());
    const rlimit = runIn(env, ["true"], (c) => {
      c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1024, hard: hard + 1 }];
    });
    if (hasSysResource) expect(rlimit.code).toBe(0);
    else {
      expect(rlimit.stderr).toBe(
        `bunc: process.rlimits[0]: raising the hard limit of RLIMIT_NOFILE from ${hard} to ${hard + 1} needs CAP_SYS_RESOURCE, which bunc does not hold here\n`,
      );
    }

    const apparmor = runIn(env, ["true"], (c) => {
      c.process.apparmorProfile = "bunc-test";
    });
    if (!existsSync("/sys/module/apparmor")) {
      expect(apparmor.stderr).toBe("bunc: process.apparmorProfile: AppArmor is not enabled on this host\n");
    }
    const selinux = runIn(env, ["true"], (c) => {
      c.process.selinuxLabel = "system_u:system_r:container_t:s0";
      c.linux!.mountLabel = "system_u:object_r:container_file_t:s0";
    });
    if (!existsSync("/sys/fs/selinux/enforce")) {
      expect(selinux.stderr).toBe("bunc: linux.mountLabel: SELinux is not enabled on this host\n");
    }
  });
});

describe("linux.devices", () => {
  test("char, block and fifo nodes with their mode and owner; access still follows the cgroup rules", () => {
    const r = runIn(
      env,
      sh(
        "stat -c '%n %F %t:%T %a %u:%g' /dev/fuse /dev/loop9 /dev/sub/pipe; dd if=/dev/loop9 of=/dev/null count=1 2>&1 | head -1",
      ),
      (c) => {
        c.linux!.devices = [
          { type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o640, uid: 1000, gid: 1001 },
          { type: "b", path: "/dev/loop9", major: 7, minor: 9 },
          { type: "p", path: "/dev/sub/pipe", fileMode: 0o600 },
        ];
      },
    );
    expect(r.stderr).toBe("");
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, 3)).toEqual([
      "/dev/fuse character special file a:e5 640 1000:1001",
      "/dev/loop9 block special file 7:9 666 0:0",
      "/dev/sub/pipe fifo 0:0 600 0:0",
    ]);
    // The default spec denies every device but the standard ones.
    expect(lines[3]).toContain("Operation not permitted");
  });

  test("a device without major and minor is refused by its path", () => {
    const r = runIn(env, ["true"], (c) => {
      c.linux!.devices = [{ type: "c", path: "/dev/x" }];
    });
    expect(r.stderr).toBe("bunc: linux.devices[0]: a c device needs major and minor\n");
  });
});

describe("create options", () => {
  const keyringOf = (keys: string) => keys.split("\n").find((l) => l.includes("keyring") && l.includes(": "));

  test("each container joins a session keyring named after its id; --no-new-keyring keeps the caller's", () => {
    const unmaskKeys = (c: Config) => {
      c.linux!.maskedPaths = c.linux!.maskedPaths!.filter((p) => p !== "/proc/keys");
    };
    const id = env.id("keys");
    const own = env.bunc(["run", "--bundle", env.bundle(id, ["cat", "/proc/keys"], unmaskKeys), id]);
    expect(own.stderr).toBe("");
    expect(own.stdout).toMatch(new RegExp(`keyring\\s+${id}: empty`));

    const other = env.id("keys");
    const kept = env.bunc([
      "run",
      "--no-new-keyring",
      "--bundle",
      env.bundle(other, ["cat", "/proc/keys"], unmaskKeys),
      other,
    ]);
    expect(kept.stderr).toBe("");
    expect(kept.stdout).not.toContain(other);
    expect(keyringOf(kept.stdout)).toBeDefined();
  });

  test("--no-pivot moves the rootfs onto / and chroots", () => {
    const id = env.id("nopivot");
    const r = env.bunc([
      "run",
      "--no-pivot",
      "--bundle",
      env.bundle(id, sh("ls /; grep ' / / ' /proc/self/mountinfo | wc -l")),
      id,
    ]);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, -1)).toEqual(readdirSync(env.rootfs).sort());
  });
});

describe("mount extensions", () => {
  test("recursive attributes reach the mounts below a bind (rro, rnosuid, rnoexec)", () => {
    const host = join(env.dir, "rbind-src");
    mkdirSync(join(host, "sub"), { recursive: true });
    expect(
      Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", join(host, "sub")]).exitCode,
    ).toBe(0);
    try {
      const r = runIn(
        env,
        sh("touch /mnt/r/sub/x 2>&1 | grep -c Read-only; cat /proc/self/mountinfo"),
        (c) => {
          c.mounts!.push({
            destination: "/mnt/r",
            type: "bind",
            source: host,
            options: ["rbind", "rro", "rnosuid", "rnoexec"],
          });
        },
      );
      expect(r.stderr).toBe("");
      expect(r.stdout.split("\n")[0]).toBe("1");
      for (const point of ["/mnt/r", "/mnt/r/sub"]) {
        expect(mountOf(r.stdout, point).opts).toEqual(expect.arrayContaining(["ro", "nosuid", "noexec"]));
      }
    } finally {
      Bun.spawnSync(["umount", join(host, "sub")]);
    }
  });

  test("tmpcopyup: a tmpfs over a directory starts with its contents, owners and modes", () => {
    const r = runIn(
      env,
      sh("stat -c '%a %u:%g' /etc /etc/passwd; head -1 /etc/passwd; echo changed > /etc/new && cat /etc/new"),
      (c) => {
        c.mounts!.push({
          destination: "/etc",
          type: "tmpfs",
          source: "tmpfs",
          options: ["tmpcopyup", "size=1m"],
        });
      },
    );
    expect(r.stderr).toBe("");
    const etc = statSync(join(env.rootfs, "etc"));
    const passwd = statSync(join(env.rootfs, "etc/passwd"));
    expect(r.stdout).toBe(
      `${(etc.mode & 0o7777).toString(8)} 0:0\n${(passwd.mode & 0o7777).toString(8)} 0:0\nroot:x:0:0:root:/root:/bin/sh\nchanged\n`,
    );
    // The image itself is untouched.
    expect(existsSync(join(env.rootfs, "etc/new"))).toBe(false);
  });

  test("tmpcopyup on anything but tmpfs is refused by name", () => {
    const r = runIn(env, ["true"], (c) => {
      c.mounts!.push({ destination: "/mnt", type: "bind", source: env.dir, options: ["bind", "tmpcopyup"] });
    });
    expect(r.stderr).toBe(`bunc: mounts[${7}].options: tmpcopyup applies to tmpfs mounts only\n`);
  });

  test("linux.rootfsPropagation: rshared makes the container's / a shared mount, rprivate a private one", () => {
    const rootLine = (propagation: "rshared" | "rprivate") => {
      const r = runIn(env, ["cat", "/proc/self/mountinfo"], (c) => {
        c.linux!.rootfsPropagation = propagation;
      });
      expect(r.stderr).toBe("");
      return r.stdout.split("\n").find((l) => l.split(" ")[4] === "/") ?? "";
    };
    expect(rootLine("rshared")).toMatch(/ shared:\d+ /);
    expect(rootLine("rprivate")).not.toMatch(/shared:|master:/);
  });
});

describe("time namespace", () => {
  test("a new time namespace with linux.timeOffsets", () => {
    // The kernel refuses an offset that would take a clock below zero: on a
    // machine just booted, a clock may not be 100 s old yet.
    const back = Math.min(100, Math.floor(Number(readFileSync("/proc/uptime", "utf8").split(" ")[0])) - 1);
    const r = runIn(env, ["sh", "-c", "cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime"], (c) => {
      c.linux!.namespaces!.push({ type: "time" });
      c.linux!.timeOffsets = {
        boottime: { secs: 31536000, nanosecs: 0 },
        monotonic: { secs: -back, nanosecs: 5 },
      };
    });
    expect(r.stderr).toBe("");
    const [mono, boot, uptime] = r.stdout
      .trim()
      .split("\n")
      .map((l) => l.trim().replace(/\s+/g, " "));
    expect(mono).toBe(`monotonic -${back} 5`);
    expect(boot).toBe("boottime 31536000 0");
    const hostUptime = Number(readFileSync("/proc/uptime", "utf8").split(".")[0]);
    expect(Number(uptime) - hostUptime).toBeGreaterThanOrEqual(31536000 - 5);
    expect(Number(uptime) - hostUptime).toBeLessThanOrEqual(31536000 + 5);
  });
});

describe("more process fields", () => {
  test("process.user.username is looked up in the container's /etc/passwd and /etc/group", () => {
    const r = runIn(env, ["sh", "-c", "id -u; id -g; id -G"], (c) => {
      c.process.user = { uid: 0, gid: 0, username: "nobody" };
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("65534\n65534\n65534\n");
    const missing = runIn(env, ["true"], (c) => {
      c.process.user = { uid: 0, gid: 0, username: "ghost" };
    });
    expect(missing.stderr).toBe(
      'bunc: process.user.username: no user "ghost" in the container\'s /etc/passwd\n',
    );
    const disagreeing = runIn(env, ["true"], (c) => {
      c.process.user = { uid: 1000, gid: 0, username: "nobody" };
    });
    expect(disagreeing.stderr).toBe(
      "bunc: process.user.username: nobody is uid 65534 gid 65534 in the container, which disagrees with process.user.uid/gid\n",
    );
  });

  test("linux.memoryPolicy is set on the process", () => {
    const r = runIn(env, ["sh", "-c", "grep -c ' bind:0 ' /proc/self/numa_maps"], (c) => {
      c.linux!.memoryPolicy = { mode: "MPOL_BIND", nodes: "0" };
    });
    expect(r.stderr).toBe("");
    expect(Number(r.stdout)).toBeGreaterThan(0);
    const bad = runIn(env, ["true"], (c) => {
      c.linux!.memoryPolicy = { mode: "MPOL_BIND" };
    });
    expect(bad.stderr).toBe("bunc: linux.memoryPolicy.nodes: MPOL_BIND needs nodes\n");
  });
});

describe("process fields with exact values", () => {
  test("domainname, umask, capabilities in all five sets, no_new_privs off, rlimits", () => {
    const script =
      "cat /proc/sys/kernel/domainname; umask; grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs)' /proc/self/status; grep -E 'Max (open files|processes)' /proc/self/limits";
    const r = runIn(env, ["sh", "-c", script], (c) => {
      c.domainname = "example.test";
      c.process.user = { uid: 1000, gid: 1000, umask: 0o077 };
      const caps = ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"];
      c.process.capabilities = {
        bounding: [...caps, "CAP_CHOWN"],
        effective: caps,
        permitted: caps,
        inheritable: caps,
        ambient: caps,
      };
      c.process.noNewPrivileges = false;
      c.process.rlimits = [
        { type: "RLIMIT_NOFILE", soft: 512, hard: 1000 },
        { type: "RLIMIT_NPROC", soft: 100, hard: 200 },
      ];
    });
    expect(r.stderr).toBe("");
    const lines = r.stdout.trim().split("\n");
    const hex = (bits: number[]) =>
      bits
        .reduce((m, b) => m | (1n << BigInt(b)), 0n)
        .toString(16)
        .padStart(16, "0");
    const caps = hex([10, 13]);
    expect(lines.slice(0, 2)).toEqual(["example.test", "0077"]);
    const status = Object.fromEntries(lines.slice(2, 8).map((l) => l.split(":\t") as [string, string]));
    expect(status).toEqual({
      CapInh: caps,
      CapPrm: caps,
      CapEff: caps,
      CapBnd: hex([0, 10, 13]),
      CapAmb: caps,
      NoNewPrivs: "0",
    });
    expect(lines[8]).toMatch(/^Max processes\s+100\s+200\s/);
    expect(lines[9]).toMatch(/^Max open files\s+512\s+1000\s/);
  });
});
