// bunc as an ordinary user: a throwaway account this test makes and
// removes runs the lifecycle, shell mode and the id mappings (its own id
// alone, and its /etc/subuid ranges through newuidmap), gets clear refusals
// for what needs root, uses a cgroup2 subtree only once one is delegated to
// it, and gains nothing outside its own ids from inside a container.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import type { Config } from "../../src/oci/config.ts";
import { stringifyExact } from "../../src/oci/exactJson.ts";
import * as tar from "tar";
import { tarOf, writeLayout } from "../fixtures/images.ts";
import { installEngines } from "./engines.ts";
import { BUNC, type Result, useTestEnv } from "./harness.ts";

const env = useTestEnv();
const NAME = `bunc-rl-${process.pid % 100000}`;
let uid = 0;
let gid = 0;
let subuid = 0;
let subgid = 0;
let xdg = "";
const delegated = `/sys/fs/cgroup/unified/bunc-test-rl-${process.pid}`;
const hostForwarding = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
let calls = 0;

const sh = (cmd: string) => ["sh", "-c", cmd];

function run(argv: string[]): string {
  const r = Bun.spawnSync(argv, { stderr: "pipe", stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** argv run as the test's user, in a clean environment with its XDG_RUNTIME_DIR (and `vars`). */
const userArgv = (argv: readonly string[], vars: readonly string[] = []) => [
  "setpriv",
  `--reuid=${uid}`,
  `--regid=${gid}`,
  "--clear-groups",
  "--",
  "env",
  "-i",
  "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
  `XDG_RUNTIME_DIR=${xdg}`,
  ...vars,
  ...argv,
];

/** bunc as the test's user, state in its XDG_RUNTIME_DIR; `inCgroup` starts it from that cgroup2 directory. */
function asUser(args: readonly string[], opts: { cwd?: string; inCgroup?: string } = {}): Result {
  const base = join(env.dir, `user-${++calls}`);
  const user = userArgv([BUNC, ...args]);
  const argv = opts.inCgroup
    ? ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', opts.inCgroup, ...user]
    : user;
  const r = Bun.spawnSync(argv, {
    stdin: "ignore",
    stdout: Bun.file(`${base}.out`),
    stderr: Bun.file(`${base}.err`),
    cwd: opts.cwd ?? env.dir,
  });
  const read = (p: string) => (existsSync(p) ? readFileSync(p, "utf8") : "");
  return { code: r.exitCode ?? -1, stdout: read(`${base}.out`), stderr: read(`${base}.err`) };
}

function okAsUser(args: readonly string[], opts: { cwd?: string; inCgroup?: string } = {}): string {
  const r = asUser(args, opts);
  if (r.code !== 0) throw new Error(`bunc ${args.join(" ")} as ${NAME} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** A bundle as `bunc spec --rootless` writes it, run by the user, with `args` and `edit`. */
function bundle(id: string, args: string[], edit?: (c: Config) => void): string {
  const dir = join(env.dir, "user-bundles", id);
  mkdirSync(dir, { recursive: true });
  chownSync(dir, uid, gid);
  rmSync(join(dir, "config.json"), { force: true });
  okAsUser(["spec", "--rootless"], { cwd: dir });
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Config;
  config.process.terminal = false;
  config.process.args = args;
  config.root.path = env.rootfs;
  edit?.(config);
  writeFileSync(join(dir, "config.json"), stringifyExact(config));
  return dir;
}

/** Root is the user, 1 and up its /etc/subuid and /etc/subgid range. */
function withSubids(c: Config): void {
  c.linux = {
    ...c.linux,
    uidMappings: [
      { containerID: 0, hostID: uid, size: 1 },
      { containerID: 1, hostID: subuid, size: 65536 },
    ],
    gidMappings: [
      { containerID: 0, hostID: gid, size: 1 },
      { containerID: 1, hostID: subgid, size: 65536 },
    ],
  };
}

const stateRoot = () => join(xdg, "bunc");
const containers = () =>
  existsSync(stateRoot()) ? readdirSync(stateRoot()).filter((e) => !e.startsWith(".")) : [];
const hostStatus = (pid: number, key: string) =>
  readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${key}:\\s*(.*)$`, "m"))?.[1] ?? "";

const subordinate = (file: string) => {
  const line = readFileSync(file, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${NAME}:`));
  return Number(line?.split(":")[1] ?? Number.NaN);
};

describe("rootless", () => {
  beforeAll(() => {
    run(["sh", resolve(import.meta.dir, "../rootless/install.sh")]);
    run(["useradd", "--no-create-home", "--shell", "/bin/sh", NAME]);
    uid = Number(run(["id", "-u", NAME]).trim());
    gid = Number(run(["id", "-g", NAME]).trim());
    if (Number.isNaN(subordinate("/etc/subuid")))
      run(["usermod", "--add-subuids", "400000-465535", "--add-subgids", "400000-465535", NAME]);
    subuid = subordinate("/etc/subuid");
    subgid = subordinate("/etc/subgid");
    xdg = join(env.dir, "xdg");
    mkdirSync(xdg, { mode: 0o700 });
    chownSync(xdg, uid, gid);
  });

  afterAll(() => {
    for (const id of containers()) asUser(["delete", "--force", id]);
    for (const d of existsSync(delegated) ? [join(delegated, "bunc"), delegated] : []) {
      for (const e of existsSync(d) ? readdirSync(d, { withFileTypes: true }) : [])
        if (e.isDirectory()) rmdirSync(join(d, e.name));
      if (existsSync(d)) rmdirSync(d);
    }
    rmSync(xdg, { recursive: true, force: true });
    run(["userdel", NAME]);
  });

  test("the lifecycle: its own uid as root inside, state in XDG_RUNTIME_DIR, no cgroup, nothing left", () => {
    const id = "rl-life";
    const dir = bundle(id, ["sleep", "100"]);
    okAsUser(["create", "--bundle", dir, id]);
    okAsUser(["start", id]);
    const state = JSON.parse(okAsUser(["state", id]));
    expect(state.status).toBe("running");
    expect(existsSync(join(stateRoot(), id, "state.json"))).toBe(true);
    // Seen from the host: the user's own ids, mapped to root inside.
    expect(hostStatus(state.pid, "Uid").split(/\s+/)).toEqual([
      String(uid),
      String(uid),
      String(uid),
      String(uid),
    ]);
    expect(readFileSync(`/proc/${state.pid}/uid_map`, "utf8").trim().split(/\s+/)).toEqual([
      "0",
      String(uid),
      "1",
    ]);
    expect(readFileSync(`/proc/${state.pid}/cgroup`, "utf8")).toBe(readFileSync("/proc/self/cgroup", "utf8"));
    expect(okAsUser(["exec", id, "id", "-u"])).toBe("0\n");
    expect(asUser(["exec", id, "sh", "-c", "exit 7"]).code).toBe(7);
    expect(okAsUser(["ps", "--format", "json", id])).toContain(String(state.pid));
    expect(okAsUser(["list", "-q"])).toBe(`${id}\n`);
    const paused = asUser(["pause", id]);
    expect(paused.stderr).toBe(
      "bunc: the container has no cgroup (it was made rootless, with none delegated to its user), so it cannot be frozen\n",
    );
    okAsUser(["kill", id, "KILL"]);
    okAsUser(["delete", "--force", id]);
    expect(containers()).not.toContain(id);
    expect(JSON.parse(okAsUser(["features"])).annotations).toEqual({
      "bunc.target": `linux-${process.arch}`,
      "bunc.rootless": "true",
      "bunc.rootless.cgroups": "none: linux.resources is refused",
    });
  });

  test("its /etc/subuid ranges through newuidmap: files made inside are owned by them on the host", () => {
    const id = "rl-ranges";
    const dir = bundle(
      id,
      sh("touch /tmp/f && chown 1000:1000 /tmp/f && touch /tmp/done; sleep 100"),
      (c) => {
        withSubids(c);
        c.process.user = { uid: 0, gid: 0, additionalGids: [5] };
        c.mounts = [...(c.mounts ?? []), { destination: "/tmp", type: "tmpfs", source: "tmpfs" }];
        const caps = ["CAP_CHOWN"];
        c.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
      },
    );
    const r = asUser(["run", "-d", "--bundle", dir, id]);
    expect(r.stderr).toBe("");
    const pid = JSON.parse(okAsUser(["state", id])).pid;
    expect(readFileSync(`/proc/${pid}/gid_map`, "utf8").trim().split(/\s+/)).toEqual([
      "0",
      String(gid),
      "1",
      "1",
      String(subgid),
      "65536",
    ]);
    expect(hostStatus(pid, "Groups").trim()).toBe(String(subgid + 4));
    const made = `/proc/${pid}/root/tmp/f`;
    for (let i = 0; i < 200 && !existsSync(`/proc/${pid}/root/tmp/done`); i++) Bun.sleepSync(10);
    const f = statSync(made);
    expect(`${f.uid}:${f.gid}`).toBe(`${subuid + 999}:${subgid + 999}`);
    okAsUser(["delete", "--force", id]);
  });

  const refused: [string, (c: Config) => void, string][] = [
    [
      "a range that is not the user's",
      (c) => {
        c.linux = {
          ...c.linux,
          uidMappings: [
            { containerID: 0, hostID: uid, size: 1 },
            { containerID: 1, hostID: 10, size: 5 },
          ],
        };
      },
      "linux.uidMappings[1]: host uids 10-14 are neither uid",
    ],
    [
      "cgroup resources with no cgroup delegated",
      (c) => {
        c.linux = { ...c.linux, resources: { memory: { limit: 64 << 20 } } };
      },
      "linux.resources.memory.limit: bunc runs rootless and may write no cgroup here",
    ],
    [
      "device rules",
      (c) => {
        c.linux = { ...c.linux, resources: { devices: [{ allow: false, access: "rwm" }] } };
      },
      "linux.resources.devices: bunc runs rootless",
    ],
    [
      "no user namespace",
      (c) => {
        c.linux = { ...c.linux, namespaces: c.linux?.namespaces?.filter((n) => n.type !== "user") };
        delete c.linux.uidMappings;
        delete c.linux.gidMappings;
      },
      `linux.namespaces: bunc runs as uid`,
    ],
    [
      "a devpts owner the namespace does not map",
      (c) => {
        c.mounts = c.mounts?.map((m) =>
          m.destination === "/dev/pts" ? { ...m, options: [...(m.options ?? []), "gid=5"] } : m,
        );
      },
      "options: gid=5: gid 5 is not mapped in linux.gidMappings",
    ],
    [
      "supplementary groups without newgidmap",
      (c) => {
        c.process.user = { uid: 0, gid: 0, additionalGids: [0] };
      },
      "process.user.additionalGids: needs setgroups",
    ],
    [
      "a hard limit above the user's",
      (c) => {
        c.process.rlimits = [{ type: "RLIMIT_NOFILE", hard: 1 << 24, soft: 1024 }];
      },
      "process.rlimits[0]: raising the hard limit of RLIMIT_NOFILE",
    ],
    [
      "a sysctl of a namespace the container does not own",
      (c) => {
        c.linux = { ...c.linux, sysctl: { "net.ipv4.ip_forward": "1" } };
      },
      "linux.sysctl.net.ipv4.ip_forward: needs the container to have its own network namespace",
    ],
    [
      "a lower oomScoreAdj",
      (c) => {
        c.process.oomScoreAdj = -500;
      },
      `process.oomScoreAdj: write "-500" to /proc/self/oom_score_adj: Permission denied`,
    ],
  ];
  test("oomScoreAdj reaches the process and what exec runs in it", () => {
    const id = "rl-oom";
    okAsUser([
      "run",
      "-d",
      "--bundle",
      bundle(id, ["sleep", "100"], (c) => {
        c.process.oomScoreAdj = 100;
      }),
      id,
    ]);
    expect(okAsUser(["exec", id, "cat", "/proc/self/oom_score_adj"])).toBe("100\n");
    okAsUser(["delete", "--force", id]);
  });

  test("a sysctl of a namespace the container owns is set", () => {
    const id = "rl-sysctl";
    const dir = bundle(id, ["cat", "/proc/sys/net/ipv4/ip_forward"], (c) => {
      c.linux = {
        ...c.linux,
        namespaces: [...(c.linux?.namespaces ?? []), { type: "network" }],
        sysctl: { "net.ipv4.ip_forward": "1" },
      };
    });
    const r = asUser(["run", "--bundle", dir, id]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("1\n");
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")).toBe(hostForwarding);
  });

  test.each(refused)("refused, by field, leaving nothing: %s", (what, edit, message) => {
    const id = `rl-refused-${refused.findIndex(([w]) => w === what)}`;
    const r = asUser(["run", "--bundle", bundle(id, ["true"], edit), id]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toContain(message);
    expect(containers()).not.toContain(id);
  });

  test("a delegated cgroup2 subtree is used: the container is placed, paused and resumed there", () => {
    mkdirSync(delegated);
    for (const f of ["", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"])
      chownSync(join(delegated, f), uid, gid);
    const id = "rl-cgroup";
    const dir = bundle(id, ["sleep", "100"]);
    okAsUser(["run", "-d", "--bundle", dir, id], { inCgroup: delegated });
    const pid = JSON.parse(okAsUser(["state", id])).pid;
    const own = `/bunc-test-rl-${process.pid}/bunc/${id}`;
    expect(
      JSON.parse(okAsUser(["features"], { inCgroup: delegated })).annotations["bunc.rootless.cgroups"],
    ).toBe(`${delegated}/bunc`);
    expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).toContain(`0::${own}\n`);
    okAsUser(["pause", id], { inCgroup: delegated });
    expect(JSON.parse(okAsUser(["state", id])).status).toBe("paused");
    expect(readFileSync(`/sys/fs/cgroup/unified${own}/cgroup.freeze`, "utf8")).toBe("1\n");
    okAsUser(["resume", id], { inCgroup: delegated });
    expect(JSON.parse(okAsUser(["state", id])).status).toBe("running");
    // What the host's cgroup2 cannot give is still refused by field.
    const limited = asUser(
      [
        "run",
        "--bundle",
        bundle("rl-mem", ["true"], (c) => {
          c.linux = { ...c.linux, resources: { pids: { limit: 10 } } };
        }),
        "rl-mem",
      ],
      { inCgroup: delegated },
    );
    expect(limited.stderr).toContain(
      "linux.resources.pids.limit: bunc runs rootless and may use only the delegated cgroup2",
    );
    okAsUser(["delete", "--force", id], { inCgroup: delegated });
    expect(existsSync(`/sys/fs/cgroup/unified${own}`)).toBe(false);
  });

  test("shell mode: --rootfs, --network none and host, the host's / read-only", () => {
    const shell = (flags: string[], cmd: string) => asUser(["run", ...flags, "--", ...sh(cmd)]);
    expect(
      shell(["--rootfs", env.rootfs], "id -u; cat /proc/self/uid_map").stdout.split(/\s+/).filter(Boolean),
    ).toEqual(["0", "0", String(uid), "1"]);
    expect(shell(["--rootfs", env.rootfs, "--network", "none"], "grep -c : /proc/net/dev").stdout).toBe(
      "1\n",
    );
    expect(shell(["--rootfs", env.rootfs, "--network", "host"], "grep -c : /proc/net/dev").stdout).not.toBe(
      "1\n",
    );
    const host = shell(
      ["--rootfs", "/", "--read-only"],
      "test -d /usr/bin && echo seen; touch /etc/.bunc-probe || echo refused",
    );
    expect(host.stdout).toBe("seen\nrefused\n");
    expect(existsSync("/etc/.bunc-probe")).toBe(false);
    const bridge = shell(["--rootfs", env.rootfs, "--network", "bridge"], "true");
    expect(bridge.code).not.toBe(0);
    expect(bridge.stderr).toContain(
      "network: bunc.network=bridge makes a bridge and veths in the host's network namespace",
    );
    expect(containers().filter((c) => !c.startsWith("rl-"))).toEqual([]);
  });

  test("nothing outside its own ids: root-owned host files stay out of reach through every mount and id", () => {
    const victim = join(env.dir, "victim");
    mkdirSync(victim);
    writeFileSync(join(victim, "file"), "host");
    writeFileSync(join(victim, "secret"), "secret");
    chmodSync(join(victim, "secret"), 0o600);
    const probe = [
      "echo x >> /root/file && echo wrote",
      "chmod 666 /root/file && echo chmodded",
      "chown 0:0 /root/file 2>/dev/null; stat -c %u /root/file",
      "cat /root/secret && echo read",
      "mknod /tmp/sda b 8 0 && echo mknod",
      "echo x > /root/new && echo created",
      "echo 1 > /proc/sys/vm/drop_caches && echo sysctl",
      "echo x >> /sys/kernel/uevent_helper && echo sys",
      "mount -o remount,rw /etc && echo x >> /etc/file && echo remounted",
      "umount /sys/fs/cgroup; echo $$ >> /sys/fs/cgroup/unified/cgroup.procs && echo cgroup",
    ].join("; ");
    const ids = [
      { uid: 0, gid: 0 },
      { uid: 1, gid: 1 },
    ];
    for (const user of ids) {
      const id = `rl-escape-${user.uid}`;
      const dir = bundle(id, sh(`exec 2>/dev/null; ${probe}; true`), (c) => {
        c.mounts = [
          ...(c.mounts ?? []),
          { destination: "/root", type: "bind", source: victim, options: ["rbind", "rw"] },
          { destination: "/etc", type: "bind", source: victim, options: ["rbind", "ro"] },
        ];
        withSubids(c);
        c.process.user = user;
        c.process.capabilities = undefined;
      });
      const r = asUser(["run", "--bundle", dir, id]);
      expect(r.stderr).toBe("");
      // Only the owner's stat prints: 65534 is how an unmapped owner (the host's root) shows inside.
      expect(r.stdout).toBe("65534\n");
    }
    expect(readFileSync(join(victim, "file"), "utf8")).toBe("host");
    expect(statSync(join(victim, "file")).mode & 0o777).toBe(0o644);
    expect(existsSync(join(victim, "new"))).toBe(false);
  });

  test("the unpack plugin: layers owned by the mapped ids, stacked by the init, the cache the user's own", () => {
    const hooks = join(env.dir, "rootless-hooks");
    run([BUNC, "hooks", "install", "unpack", "--dir", hooks]);
    const base = join(env.dir, "rootless-base.tar");
    tar.c({ sync: true, file: base, cwd: env.rootfs }, ["."]);
    const image = join(env.dir, "rootless-image");
    writeLayout(image, [
      {
        layers: [
          readFileSync(base),
          tarOf([
            { path: "etc/", type: "dir" },
            { path: "etc/passwd", body: "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n" },
            { path: "etc/group", body: "root:x:0:\napp:x:1000:\nstaff:x:50:app\n" },
            { path: "old.txt", body: "old" },
            { path: "d/", type: "dir" },
            { path: "d/a", body: "a" },
            { path: "owned", body: "o", uid: 1000, gid: 50 },
          ]),
          tarOf([{ path: ".wh.old.txt" }, { path: "d/.wh..wh..opq" }, { path: "d/b", body: "b" }]),
        ],
        compress: "gzip",
        config: {
          Env: ["PATH=/bin:/usr/bin", "FROM=image"],
          Cmd: [
            "sh",
            "-c",
            "id -u; id -G; ls -n /owned | cut -d' ' -f3,4; ls / | grep -c old.txt; ls /d; echo $FROM",
          ],
          User: "app",
        },
      },
    ]);
    const imageBundle = (id: string, mapped: boolean) =>
      bundle(id, [], (c) => {
        c.process.env = [];
        c.root = { path: "rootfs", readonly: false };
        c.annotations = { "bunc.image": image };
        if (mapped) withSubids(c);
      });
    const cache = join(stateRoot(), ".images");
    const r = asUser(["--hooks-dir", hooks, "run", "--bundle", imageBundle("rl-image", true), "rl-image"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("1000\n1000 50\n1000 50\n0\nb\nimage\n");
    // In the cache, the file belongs to the host id the container's 1000 maps to.
    const layers = readdirSync(join(cache, "layers")).filter((n) => !n.includes("."));
    const owned = layers.map((l) => join(cache, "layers", l, "owned")).find((p) => existsSync(p)) ?? "";
    expect(`${statSync(owned).uid}:${statSync(owned).gid}`).toBe(`${subuid + 999}:${subgid + 49}`);
    expect(readdirSync(join(cache, "containers"))).toEqual([]);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(cache);
    // With the user's own id alone, the image's other owners have nowhere to go.
    const single = asUser([
      "--hooks-dir",
      hooks,
      "run",
      "--bundle",
      imageBundle("rl-image-1", false),
      "rl-image-1",
    ]);
    expect(single.stderr).toContain("/owned: uid 1000 is outside the container's user namespace mapping");
    expect(readdirSync(join(cache, "containers"))).toEqual([]);
    expect(
      okAsUser(["--hooks-dir", hooks, "image", "prune"]).split("\n").filter(Boolean).length,
    ).toBeGreaterThan(0);
    expect(readdirSync(join(cache, "layers")).filter((n) => !n.endsWith(".lock"))).toEqual([]);
    expect(containers()).not.toContain("rl-image");
  });

  test("podman rootless drives bunc: run with its exit code, exec, stop, rm", () => {
    installEngines();
    const home = join(env.dir, "podman-home");
    mkdirSync(home);
    chownSync(home, uid, gid);
    const image = join(home, "rootfs.tar");
    run(["tar", "-C", env.rootfs, "-cf", image, "."]);
    chownSync(image, uid, gid);
    const podman = (args: string[]) => {
      const r = Bun.spawnSync(
        userArgv(
          [
            "podman",
            ...["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"],
            ...["--runtime", BUNC],
            ...args,
          ],
          [`HOME=${home}`],
        ),
        { stdin: "ignore", cwd: home, timeout: 120_000 },
      );
      return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
    };
    try {
      expect(podman(["import", image, "localhost/bunc-rl:1"]).code).toBe(0);
      const once = podman([
        "run",
        "--rm",
        "--network",
        "none",
        "localhost/bunc-rl:1",
        "sh",
        "-c",
        "id -u; exit 3",
      ]);
      expect(once.stdout).toBe("0\n");
      expect(once.code).toBe(3);
      expect(
        podman([
          "run",
          "-d",
          "--name",
          "rl-podman",
          "--network",
          "none",
          "localhost/bunc-rl:1",
          "sleep",
          "100",
        ]).code,
      ).toBe(0);
      const exec = podman(["exec", "rl-podman", "sh", "-c", "cat /proc/self/uid_map; exit 4"]);
      expect(exec.code).toBe(4);
      expect(exec.stdout.trim().split(/\s+/)).toEqual(["0", String(uid), "1", "1", String(subuid), "65536"]);
      expect(podman(["stop", "-t", "1", "rl-podman"]).code).toBe(0);
      expect(podman(["rm", "rl-podman"]).code).toBe(0);
      expect(podman(["ps", "-aq"]).stdout).toBe("");
    } finally {
      // Rootless podman keeps a process holding its user namespace: ours to end.
      const pause = join(xdg, "libpod", "tmp", "pause.pid");
      if (existsSync(pause)) process.kill(Number(readFileSync(pause, "utf8")), "SIGKILL");
      rmSync(home, { recursive: true, force: true });
    }
  });

  test("while the init waits for start, no process of the container can open bunc's binary for writing", () => {
    const id = "rl-exe";
    const dir = bundle(id, ["true"]);
    okAsUser(["create", "--bundle", dir, id]);
    const r = asUser([
      "exec",
      id,
      "sh",
      "-c",
      "echo x >> /proc/1/exe && echo wrote; readlink /proc/1/exe || true",
    ]);
    expect(r.stdout).not.toContain("wrote");
    expect(statSync(BUNC).uid).toBe(0);
    okAsUser(["delete", "--force", id]);
  });
});
