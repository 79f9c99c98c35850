// The bundled network plugin, for real: bunc runs in a network namespace the
// test pins for itself (the host's network is never touched, and nothing is
// routed anywhere but between that namespace and its containers), with the
// plugin installed by `bunc hooks install network`. A static echo tool
// (test/fixtures/tcptool.c) is bound into the containers and also run in the
// test's namespace.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import type { Config } from "../../src/oci/config.ts";
import { PrivateNetns } from "./engines.ts";
import { BUNC, createAtOnce, useTestEnv } from "./harness.ts";

const env = useTestEnv();
let netns: PrivateNetns;
let hooksDir = "";
let tool = "";
let calls = 0;

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

/** bunc in the test's network namespace, with the plugin directory; output through files. */
function nbunc(args: readonly string[]): Out {
  const base = join(env.dir, `net-${++calls}`);
  const r = Bun.spawnSync(netns.wrap([BUNC, "--root", env.root, "--hooks-dir", hooksDir, ...args]), {
    stdout: Bun.file(`${base}.out`),
    stderr: Bun.file(`${base}.err`),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
  return {
    code: r.exitCode ?? -1,
    stdout: readFileSync(`${base}.out`, "utf8"),
    stderr: readFileSync(`${base}.err`, "utf8"),
  };
}

function ok(args: readonly string[]): string {
  const r = nbunc(args);
  if (r.code !== 0) throw new Error(`bunc ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The echo tool run in the test's namespace. */
function fromHost(args: readonly string[]): Out {
  const r = Bun.spawnSync(netns.wrap([tool, ...args]), { stderr: "pipe", timeout: 10_000 });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function bundle(
  id: string,
  args: readonly string[],
  annotations: Record<string, string>,
  edit?: (c: Config) => void,
) {
  return env.bundle(id, args, (c) => {
    c.annotations = { "bunc.network": "bridge", ...annotations };
    c.mounts = [
      ...(c.mounts ?? []),
      { destination: "/tcptool", type: "bind", source: tool, options: ["bind", "ro"] },
    ];
    edit?.(c);
  });
}

const ipOf = (id: string) =>
  String(
    env.state(id).annotations === undefined
      ? ""
      : (env.state(id).annotations as Record<string, string>)["bunc.network.ip"],
  ).split("/")[0] ?? "";

/** A detached echo server container; returns its address. */
function server(
  id: string,
  annotations: Record<string, string> = {},
  cmd = ["/tcptool", "serve", "7000"],
): string {
  ok(["run", "-d", "--bundle", bundle(id, cmd, annotations), id]);
  return ipOf(id);
}

/** Retries an exchange while the server in a just-started container binds its port. */
async function exchange(send: () => Out): Promise<Out> {
  let r = send();
  for (let i = 0; i < 20 && r.code !== 0; i++) {
    await Bun.sleep(50);
    r = send();
  }
  return r;
}

function links(): string[] {
  const r = Bun.spawnSync(netns.wrap(["ip", "-o", "link", "show"]), { stdout: "pipe" });
  return r.stdout
    .toString()
    .split("\n")
    .filter(Boolean)
    .map((l) => (l.split(": ")[1] ?? "").split("@")[0] ?? "");
}

const leases = () => {
  const file = join(env.root, ".network", "bunc0.leases.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")).leases as Record<string, string>) : {};
};
const records = () => {
  const dir = join(env.root, ".network", "containers");
  return existsSync(dir) ? readdirSync(dir) : [];
};

function running(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Nothing of any container is left: links, leases, records, pins, forwarders. */
function expectNothingLeft(): void {
  expect(links().filter((l) => !["lo", "bunc0", "bunc-t6"].includes(l))).toEqual([]);
  expect(leases()).toEqual({});
  expect(records()).toEqual([]);
  expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(join(env.root, ".network"));
}

// Containers start, servers bind, twenty creates queue on one lock: more than bun's 5 s.
setDefaultTimeout(60_000);

describe("the network plugin", () => {
  beforeAll(() => {
    netns = new PrivateNetns(env.dir);
    hooksDir = join(env.dir, "hooks.d");
    const installed = Bun.spawnSync([BUNC, "hooks", "install", "network", "--dir", hooksDir], {
      stderr: "pipe",
    });
    if (installed.exitCode !== 0) throw new Error(installed.stderr.toString());
    tool = join(env.dir, "tcptool");
    const cc = Bun.spawnSync(
      ["cc", "-static", "-O2", "-o", tool, resolve(import.meta.dir, "../fixtures/tcptool.c")],
      {
        stderr: "pipe",
      },
    );
    if (cc.exitCode !== 0) throw new Error(`cc: ${cc.stderr.toString()}`);
  });
  afterAll(() => {
    for (const id of readdirSync(env.root).filter((e) => !e.startsWith(".")))
      nbunc(["delete", "--force", id]);
    netns?.remove();
  });

  test("two containers on one bridge talk over TCP; the test's namespace reaches one through the bridge", async () => {
    const a = env.id("net");
    const ip = server(a);
    expect(ip).toMatch(/^10\.77\.\d+\.\d+$/);
    const b = env.id("net");
    const r = await exchange(() =>
      nbunc(["run", "--bundle", bundle(b, ["/tcptool", "send", ip, "7000", "from-b"], {}), b]),
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("echo:from-b\n");
    expect(fromHost(["send", ip, "7000", "from-host"]).stdout).toBe("echo:from-host\n");
    // Inside: eth0 with the address, the default route through the bridge's first address.
    const inside = ok(["exec", a, "sh", "-c", "cat /proc/net/route /proc/net/fib_trie"]);
    expect(inside).toMatch(/^eth0\s+00000000\s+01004D0A\s/m);
    expect(inside).toContain(`|-- ${ip}\n`);
    ok(["delete", "--force", a]);
    expectNothingLeft();
  });

  test("published ports, TCP and UDP, from the test's namespace; the forwarder ends with the container", async () => {
    const id = env.id("net");
    const bundlePath = bundle(id, ["sh", "-c", "/tcptool userve 7001 & exec /tcptool serve 7000"], {
      "bunc.network.publish": "18080:7000,18081:7001/udp",
    });
    ok(["run", "-d", "--bundle", bundlePath, id]);
    const made = JSON.parse(readFileSync(join(env.root, ".network", "containers", id, "made.json"), "utf8"));
    expect((await exchange(() => fromHost(["send", "127.0.0.1", "18080", "tcp-in"]))).stdout).toBe(
      "echo:tcp-in\n",
    );
    expect((await exchange(() => fromHost(["usend", "127.0.0.1", "18081", "udp-in"]))).stdout).toBe(
      "echo:udp-in\n",
    );
    expect(running(made.proxy.pid)).toBe(true);
    ok(["delete", "--force", id]);
    // Ended (a zombie waits for whoever adopted it, not for bunc).
    expect(running(made.proxy.pid)).toBe(false);
    expectNothingLeft();
  });

  test("a port already taken fails the create with its name, and leaves nothing", async () => {
    const holder = env.id("net");
    server(holder, { "bunc.network.publish": "18090:7000" });
    const id = env.id("net");
    const r = nbunc([
      "run",
      "-d",
      "--bundle",
      bundle(id, ["sleep", "100"], { "bunc.network.publish": "18090:7000" }),
      id,
    ]);
    expect(r.stderr).toContain(
      `network: publish 18090:7000/tcp for container ${id}: port 18090/tcp is already in use on this host`,
    );
    expect(r.code).not.toBe(0);
    expect(nbunc(["state", id]).code).not.toBe(0);
    ok(["delete", "--force", holder]);
    expectNothingLeft();
  });

  test("20 parallel creates get 20 distinct addresses; a static address already leased is refused", async () => {
    const ids = Array.from({ length: 20 }, () => env.id("par"));
    const errors = await createAtOnce(env, ids, (id) =>
      netns.wrap([
        BUNC,
        "--root",
        env.root,
        "--hooks-dir",
        hooksDir,
        "create",
        "--bundle",
        bundle(id, ["sleep", "100"], {}),
        id,
      ]),
    );
    expect(errors.filter(Boolean)).toEqual([]);
    const ips = ids.map(ipOf);
    expect(new Set(ips).size).toBe(20);
    expect(Object.keys(leases())).toHaveLength(20);
    const taken = ips[3] ?? "";
    const id = env.id("net");
    const r = nbunc(["create", "--bundle", bundle(id, ["true"], { "bunc.network.address": taken }), id]);
    expect(r.stderr).toContain(`network: address ${taken} is already leased to container ${ids[3]}`);
    for (const c of ids) ok(["delete", "--force", c]);
    expectNothingLeft();
  });

  test("a lease whose container is gone (a crashed runtime) is taken back", () => {
    const id = env.id("net");
    server(id, { "bunc.network.address": "10.77.0.200" });
    // The container vanishes without its poststop: its state directory goes, its lease stays.
    const made = JSON.parse(readFileSync(join(env.root, ".network", "containers", id, "made.json"), "utf8"));
    ok(["kill", id, "KILL"]);
    ok(["delete", "--force", id]);
    expect(made.leased).toBe(true);
    writeFileSync(
      join(env.root, ".network", "bunc0.leases.json"),
      JSON.stringify({ subnet: "10.77.0.0/16", leases: { "200": "crashed-one" } }),
    );
    const again = env.id("net");
    server(again, { "bunc.network.address": "10.77.0.200" });
    expect(ipOf(again)).toBe("10.77.0.200");
    ok(["delete", "--force", again]);
    expectNothingLeft();
  });

  test("a record lost half-written: poststop still removes the veth, the pin and the lease", () => {
    const id = env.id("net");
    server(id);
    // As a crash in the middle of rewriting it would leave it.
    writeFileSync(join(env.root, ".network", "containers", id, "made.json"), '{"bridge":"bun');
    expect(nbunc(["delete", "--force", id]).stderr).toBe("");
    expectNothingLeft();
  });

  test("/etc/hosts, hostname and resolv.conf, written inside the root: a link out of it stays in it", () => {
    const id = env.id("net");
    // A root of its own whose /etc/hosts links to a host file's absolute path.
    const root = join(env.dir, "rootfs-hosts");
    Bun.spawnSync(["cp", "-a", env.rootfs, root]);
    const hostFile = join(env.dir, "host-hosts");
    writeFileSync(hostFile, "the host's own\n");
    mkdirSync(join(root, env.dir), { recursive: true });
    rmSync(join(root, "etc", "hosts"), { force: true });
    symlinkSync(hostFile, join(root, "etc", "hosts"));
    const r = nbunc([
      "run",
      "--bundle",
      bundle(id, ["sh", "-c", "cat /etc/hosts /etc/hostname"], { "bunc.network.hosts": "true" }, (c) => {
        c.hostname = "web";
        c.root = { path: root, readonly: true };
      }),
      id,
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(
      /^127\.0\.0\.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10\.77\.\d+\.\d+\tweb\nweb\n$/,
    );
    expect(readFileSync(hostFile, "utf8")).toBe("the host's own\n");
    expect(readFileSync(join(root, hostFile), "utf8")).toContain("\tweb\n");
    expectNothingLeft();
  });

  describe("a hostile root's /etc: refused by name, nothing outside the root's own filesystem written", () => {
    const shared = () => join(env.dir, "shared");
    /** A root of its own with /etc/NAME replaced by what plant makes there. */
    const hostileRoot = (name: string, plant: (file: string) => void) => {
      const root = join(env.dir, `rootfs-${name}`);
      Bun.spawnSync(["cp", "-a", env.rootfs, root]);
      rmSync(join(root, "etc", name), { force: true });
      plant(join(root, "etc", name));
      mkdirSync(join(root, "shared"));
      return root;
    };
    // In a UTS namespace of its own (should the refusal regress, a write to
    // the kernel's hostname renames that one), and bounded in time (a FIFO
    // opened for writing blocks).
    const attempt = (id: string, root: string): Out => {
      const base = join(env.dir, `hostile-${id}`);
      const config = bundle(id, ["true"], { "bunc.network.hosts": "true" }, (c) => {
        c.root = { path: root };
        c.mounts = [
          ...(c.mounts ?? []),
          { destination: "/shared", type: "bind", source: shared(), options: ["bind"] },
        ];
      });
      const argv = [BUNC, "--root", env.root, "--hooks-dir", hooksDir, "run", "--bundle", config, id];
      const r = Bun.spawnSync(["unshare", "--uts", ...netns.wrap(argv)], {
        stdout: Bun.file(`${base}.out`),
        stderr: Bun.file(`${base}.err`),
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        timeout: 20_000,
      });
      return { code: r.exitCode ?? -1, stdout: "", stderr: readFileSync(`${base}.err`, "utf8") };
    };
    beforeAll(() => {
      mkdirSync(shared());
      writeFileSync(join(shared(), "hosts"), "the host's own\n");
    });

    test.each([
      [
        "a link into the container's /proc",
        "hostname",
        (file: string) => symlinkSync("/proc/sys/kernel/hostname", file),
        "it is on another filesystem than the container's root (a mount, or a link into one)",
      ],
      [
        "a link into a mount of the config's",
        "hosts",
        (file: string) => symlinkSync("/shared/hosts", file),
        "it is on another filesystem than the container's root (a mount, or a link into one)",
      ],
      [
        "a FIFO",
        "resolv.conf",
        (file: string) => expect(Bun.spawnSync(["mkfifo", file]).exitCode).toBe(0),
        "it is a FIFO, not a regular file",
      ],
    ] as const)("%s", (_, name, plant, why) => {
      const id = env.id("etc");
      const r = attempt(id, hostileRoot(name, plant));
      expect(r.stderr).toContain(`network: write /etc/${name} in container ${id}: ${why}`);
      expect(r.code).not.toBe(0);
      expect(readFileSync(join(shared(), "hosts"), "utf8")).toBe("the host's own\n");
      expectNothingLeft();
    });
  });

  test("a bridge and subnet of its own, with IPv6 and an MTU", async () => {
    const id = env.id("net");
    const r = nbunc([
      "run",
      "--bundle",
      bundle(
        id,
        ["sh", "-c", "cat /sys/class/net/eth0/mtu /proc/net/if_inet6; grep -c . /proc/net/ipv6_route"],
        {
          "bunc.network.bridge": "bunc-t6",
          "bunc.network.subnet": "10.78.0.0/24,fd00:78::/64",
          "bunc.network.address": "10.78.0.9",
          "bunc.network.mtu": "1400",
        },
      ),
      id,
    ]);
    expect(r.stderr).toBe("");
    const [mtu, ...rest] = r.stdout.split("\n");
    expect(mtu).toBe("1400");
    // fd00:78::9, the IPv4 address's host part in the IPv6 block.
    expect(rest.join("\n")).toMatch(/^fd000078000000000000000000000009 \w+ 40 00 \w+ +eth0$/m);
    expect(links()).toContain("bunc-t6");
    const bridge = Bun.spawnSync(netns.wrap(["ip", "-o", "link", "show", "bunc-t6"]), { stdout: "pipe" });
    expect(bridge.stdout.toString()).toContain(" mtu 1400 ");
    expectNothingLeft();
  });

  test("malformed annotations are refused by name before anything is made", () => {
    for (const [annotations, message] of [
      [
        { "bunc.network.subnet": "10.1.0.0/40" },
        'network: annotation bunc.network.subnet: "10.1.0.0/40" does not start with an IPv4 CIDR',
      ],
      [
        { "bunc.network.address": "10.78.0.9" },
        'network: annotation bunc.network.address: "10.78.0.9" is not a container address of 10.77.0.0/16',
      ],
      [
        { "bunc.network.publish": "0:80" },
        'network: annotation bunc.network.publish: "0:80" has port 0, not 1 to 65535',
      ],
    ] as const) {
      const id = env.id("bad");
      const r = nbunc(["run", "--bundle", bundle(id, ["true"], annotations), id]);
      expect(r.stderr).toContain(message);
      expect(r.code).not.toBe(0);
      expect(nbunc(["state", id]).code).not.toBe(0);
    }
    const id = env.id("bad");
    const shared = nbunc([
      "run",
      "--bundle",
      bundle(id, ["true"], {}, (c) => {
        c.linux = { ...c.linux, namespaces: c.linux?.namespaces?.filter((n) => n.type !== "network") };
      }),
      id,
    ]);
    expect(shared.stderr).toContain(`network: container ${id} has no network namespace of its own`);
    expectNothingLeft();
  });
});
