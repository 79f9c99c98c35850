// podman drives bunc (`--runtime`): all its state under the test's directory
// (--root, --runroot, --tmpdir, --network-config-dir, vfs storage, no
// events), containers in cgroups under the test's parent, every podman
// command in a network namespace of the test's own (the default bridge
// network's bridge and firewall rules are made there). Its default limits
// are lowered: podman asks for RLIMIT_NOFILE and RLIMIT_NPROC hard limits
// above what this VM lets root raise, which runc refuses the same way.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import {
  HostLeftovers,
  IS_BUNC,
  installEngines,
  LIMITS_SCENARIO,
  PrivateNetns,
  RUNTIME,
  removeEngineCgroups,
  removeOwnParent,
  scenarios,
  stopDaemon,
} from "./engines.ts";
import { useTestEnv } from "./harness.ts";

const env = useTestEnv();
const IMAGE = "localhost/bunc-test:1";
const PAUSE = "localhost/bunc-pause:1";
const { scenario, report } = scenarios("podman");

let dir = "";
let leftovers: HostLeftovers | undefined;
let netns: PrivateNetns | undefined;
let tool = "";

function cc(src: string, out: string): void {
  const r = Bun.spawnSync(["cc", "-static", "-O2", "-o", out, src], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`cc ${src}: ${r.stderr.toString()}`);
}

/** podman with the test's private places, in the test's network namespace. */
function podmanCommand(args: readonly string[], runtimeFlags: readonly string[] = []): string[] {
  return (netns as PrivateNetns).wrap([
    "podman",
    ...["--root", `${dir}/root`, "--runroot", `${dir}/runroot`, "--tmpdir", `${dir}/tmp`],
    ...["--network-config-dir", `${dir}/net.d`],
    ...["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"],
    ...["--runtime", RUNTIME, ...runtimeFlags, "--hooks-dir", `${dir}/hooks.d`],
    ...args,
  ]);
}

function podman(
  args: string[],
  opts: { stdin?: string } = {},
): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync(podmanCommand(args), {
    stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
    env: podmanEnv(),
    timeout: 120_000,
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/**
 * podman's environment: a containers.conf of the test's own, with the
 * lowered default limits (for the containers flags cannot reach: a pod's
 * infra container, kube play's) and the pause image built by the test.
 */
const podmanEnv = () => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  CONTAINERS_CONF: join(dir, "containers.conf"),
});

function podmanOk(args: string[]): string {
  const r = podman(args);
  if (r.code !== 0) throw new Error(`podman ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** podman's default cgroup parent is there already: not the test's to use. */
const libpodParentTaken = readdirSync("/sys/fs/cgroup").some((h) =>
  existsSync(`/sys/fs/cgroup/${h}/libpod_parent`),
);

const LIMITS = () => [
  ...["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"],
  ...["--cgroup-parent", `${env.cgroupParent}/podman`],
];
const OPTS = () => [...LIMITS(), "--network", "none"];

describe("podman with bunc as its runtime", () => {
  beforeAll(() => {
    installEngines();
    // CNI's address leases and cache, and the directory of podman's network namespaces, are the host's.
    leftovers = new HostLeftovers([
      "/var/lib/containers",
      "/run/libpod",
      "/run/containers",
      "/var/lib/cni",
      "/run/cni",
      "/run/netns",
    ]);
    dir = join(env.dir, "podman");
    mkdirSync(join(dir, "hooks.d"), { recursive: true });
    netns = new PrivateNetns(dir);
    chmodSync(dir, 0o755);
    chmodSync(join(dir, "hooks.d"), 0o755);
    writeFileSync(
      join(dir, "containers.conf"),
      [
        "[containers]",
        'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
        "[engine]",
        `infra_image = "${PAUSE}"`,
        'infra_command = "/pause"',
        "",
      ].join("\n"),
    );
    const tar = join(dir, "rootfs.tar");
    Bun.spawnSync(["tar", "-C", env.rootfs, "-cf", tar, "."]);
    podmanOk(["import", "--change", "ENV PATH=/usr/bin:/bin", tar, IMAGE]);
    // A pause image of the test's own (nothing is pulled), and the echo tool for localhost checks.
    const pauseRoot = join(dir, "pause-root");
    mkdirSync(pauseRoot);
    cc(resolve(import.meta.dir, "../fixtures/pause.c"), join(pauseRoot, "pause"));
    Bun.spawnSync(["tar", "-C", pauseRoot, "-cf", join(dir, "pause.tar"), "."]);
    podmanOk(["import", "--change", 'CMD ["/pause"]', join(dir, "pause.tar"), PAUSE]);
    tool = join(dir, "tcptool");
    cc(resolve(import.meta.dir, "../fixtures/tcptool.c"), tool);
  }, 300_000);

  afterAll(async () => {
    report();
    if (netns) {
      podman(["pod", "rm", "-a", "-f", "-t", "0"]);
      podman(["rm", "-a", "-f", "-t", "0"]);
    }
    netns?.remove();
    await stopDaemon(undefined, dir);
    if (dir) rmSync(dir, { recursive: true, force: true });
    await removeEngineCgroups(env, "podman");
    if (!libpodParentTaken) await removeOwnParent("/libpod_parent");
    leftovers?.remove();
  }, 120_000);

  scenario("run: stdout, stderr and the exit code", () => {
    const r = podman(["run", "--rm", ...OPTS(), IMAGE, "sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toBe("err\n");
    expect(r.code).toBe(3);
  });

  scenario("a detached container: exec, top, pause and unpause, kill, stop, rm", () => {
    const name = `p${process.pid}`;
    podmanOk(["run", "-d", "--name", name, ...OPTS(), IMAGE, "sleep", "1000"]);
    const ex = podman(["exec", name, "sh", "-c", "echo in-exec; exit 4"]);
    expect(ex.stdout).toBe("in-exec\n");
    expect(ex.code).toBe(4);
    expect(podmanOk(["top", name])).toContain("sleep 1000");
    podmanOk(["pause", name]);
    expect(podmanOk(["inspect", "-f", "{{.State.Status}}", name]).trim()).toBe("paused");
    podmanOk(["unpause", name]);
    // The shell-less sleep is pid 1 and ignores TERM: stop ends it with KILL after the timeout.
    podmanOk(["kill", "-s", "TERM", name]);
    podmanOk(["stop", "-t", "1", name]);
    expect(podmanOk(["inspect", "-f", "{{.State.Status}}", name]).trim()).toBe("exited");
    podmanOk(["rm", name]);
  });

  scenario("limits and security: --memory, --pids-limit, --user, --read-only, --cap-drop ALL", () => {
    const out = podmanOk([
      "run",
      "--rm",
      ...LIMITS_SCENARIO.flags,
      ...OPTS(),
      IMAGE,
      ...LIMITS_SCENARIO.command,
    ]);
    expect(out.trim().split("\n")).toEqual([...LIMITS_SCENARIO.expected]);
  });

  scenario(
    "hooks from podman's --hooks-dir run once, though bunc's plugin directory has the same one",
    () => {
      const log = join(dir, "hook.log");
      const hook = join(dir, "hook.sh");
      writeFileSync(hook, `#!/bin/sh\ngrep -o '"status":"[a-z]*"' >> ${log}\n`, { mode: 0o755 });
      chmodSync(hook, 0o755);
      // One entry for three stages, as hooks.d files are written: podman injects it for
      // prestart and poststart, and runs its poststop itself.
      const file = join(dir, "hooks.d", "50-test.json");
      writeFileSync(
        file,
        JSON.stringify({
          version: "1.0.0",
          hook: { path: hook },
          when: { always: true },
          stages: ["prestart", "poststart", "poststop"],
        }),
        { mode: 0o644 },
      );
      chmodSync(file, 0o644);
      // The same directory is bunc's own plugin directory too: podman injects, bunc does not run them again.
      const r = Bun.spawnSync(
        podmanCommand(
          ["run", "--rm", ...OPTS(), IMAGE, "true"],
          ["--runtime-flag", `hooks-dir=${dir}/hooks.d`],
        ),
        { env: podmanEnv(), timeout: 120_000 },
      );
      expect(r.stderr.toString()).toBe("");
      expect(r.exitCode).toBe(0);
      // prestart sees the container creating, poststart running, poststop stopped: once each.
      expect(readFileSync(log, "utf8").trim().split("\n")).toEqual([
        '"status":"creating"',
        '"status":"running"',
        '"status":"stopped"',
      ]);
    },
    !IS_BUNC,
  );

  scenario(
    "--preserve-fds: an fd of podman's caller reaches the container through conmon and the runtime",
    () => {
      const file = join(dir, "fd3");
      writeFileSync(file, "through podman\n");
      const r = Bun.spawnSync(
        [
          "sh",
          "-c",
          'exec 3<"$0"; exec "$@"',
          file,
          ...podmanCommand(["run", "--rm", "--preserve-fds", "1", ...OPTS(), IMAGE, "sh", "-c", "cat <&3"]),
        ],
        { env: podmanEnv(), timeout: 120_000 },
      );
      expect(r.stderr.toString()).toBe("");
      expect(r.stdout.toString()).toBe("through podman\n");
    },
  );

  scenario(
    "the default bridge network: eth0 up with podman's address, the default route through the bridge",
    () => {
      const name = `n${process.pid}`;
      podmanOk(["run", "-d", "--name", name, ...LIMITS(), IMAGE, "sleep", "1000"]);
      try {
        const [ip, gateway] = podmanOk([
          "inspect",
          "-f",
          "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}}",
          name,
        ])
          .trim()
          .split(" ");
        expect(ip).toMatch(/^10\.88\.\d+\.\d+$/);
        const inside = podmanOk([
          "exec",
          name,
          "sh",
          "-c",
          "cat /sys/class/net/eth0/operstate /proc/net/route /proc/net/fib_trie",
        ]);
        expect(inside.split("\n")[0]).toBe("up");
        // The gateway in /proc/net/route: little-endian hex.
        const hex = (a: string) =>
          a
            .split(".")
            .reverse()
            .map((o) => Number(o).toString(16).padStart(2, "0").toUpperCase())
            .join("");
        expect(inside).toMatch(new RegExp(`^eth0\\s+00000000\\s+${hex(gateway ?? "")}\\s`, "m"));
        expect(inside).toContain(`|-- ${ip}\n`);
      } finally {
        podman(["rm", "-f", "-t", "0", name]);
      }
    },
  );

  scenario(
    "a pod: two containers share the infra container's network, IPC and UTS namespaces and localhost; stop and rm clean up",
    () => {
      const pod = `pod${process.pid}`;
      podmanOk(["pod", "create", "--name", pod, "--cgroup-parent", `${env.cgroupParent}/podman`]);
      const withTool = ["-v", `${tool}:/tcptool:ro`];
      podmanOk([
        "run",
        "-d",
        "--pod",
        pod,
        "--name",
        `${pod}-server`,
        ...withTool,
        IMAGE,
        "/tcptool",
        "serve",
        "7000",
      ]);
      // Read on the host: the infra container has nothing but its pause program.
      const ns = (name: string) => {
        const pid = podmanOk(["inspect", "-f", "{{.State.Pid}}", name]).trim();
        return ["net", "ipc", "uts"].map((n) => readlinkSync(`/proc/${pid}/ns/${n}`));
      };
      const infra = podmanOk(["pod", "inspect", "-f", "{{.InfraContainerID}}", pod]).trim();
      const client = podman([
        "run",
        "--rm",
        "--pod",
        pod,
        ...withTool,
        IMAGE,
        "sh",
        "-c",
        "hostname; for i in 1 2 3 4 5; do /tcptool send 127.0.0.1 7000 hello && break; sleep 0.2; done",
      ]);
      expect(client.stderr).toBe("");
      expect(client.stdout).toBe(`${pod}\necho:hello\n`);
      expect(ns(`${pod}-server`)).toEqual(ns(infra));
      podmanOk(["pod", "stop", "-t", "1", pod]);
      podmanOk(["pod", "rm", pod]);
      expect(podmanOk(["ps", "-a", "-q"]).trim()).toBe("");
    },
  );

  scenario(
    "kube play of a two-container pod: shared namespaces and localhost; kube down cleans up",
    async () => {
      const yaml = join(dir, "pod.yaml");
      writeFileSync(
        yaml,
        [
          "apiVersion: v1",
          "kind: Pod",
          "metadata:",
          "  name: kp",
          "spec:",
          "  containers:",
          "  - name: server",
          `    image: ${IMAGE}`,
          '    command: ["/tcptool", "serve", "7000"]',
          "    volumeMounts: [{name: tool, mountPath: /tcptool, readOnly: true}]",
          "  - name: client",
          `    image: ${IMAGE}`,
          '    command: ["sleep", "1000"]',
          "    volumeMounts: [{name: tool, mountPath: /tcptool, readOnly: true}]",
          "  volumes:",
          `  - {name: tool, hostPath: {path: ${tool}, type: File}}`,
          "",
        ].join("\n"),
      );
      podmanOk(["kube", "play", yaml]);
      try {
        let reply = podman(["exec", "kp-client", "/tcptool", "send", "127.0.0.1", "7000", "kube"]);
        for (let i = 0; i < 20 && reply.code !== 0; i++) {
          await Bun.sleep(100);
          reply = podman(["exec", "kp-client", "/tcptool", "send", "127.0.0.1", "7000", "kube"]);
        }
        expect(reply.stdout).toBe("echo:kube\n");
        expect(podmanOk(["exec", "kp-client", "hostname"]).trim()).toBe("kp");
      } finally {
        podmanOk(["kube", "down", yaml]);
      }
      expect(podmanOk(["ps", "-a", "-q"]).trim()).toBe("");
    },
    // kube play takes no cgroup parent: its pods go below podman's own /libpod_parent, which
    // the test may use only where it makes it (and removes it after).
    libpodParentTaken,
  );

  scenario("terminals: run -t, run -i -t with input, exec -t", () => {
    const args = (rest: string[]) =>
      podmanCommand(rest)
        .map((a) => `'${a}'`)
        .join(" ");
    const inTerminal = (rest: string[], input?: string) => {
      const r = Bun.spawnSync(["script", "-qec", args(rest), "/dev/null"], {
        stdin: input === undefined ? "ignore" : Buffer.from(input),
        timeout: 120_000,
      });
      return { code: r.exitCode ?? -1, stdout: r.stdout.toString().replaceAll("\r", "") };
    };
    const run = inTerminal(["run", "--rm", "-t", ...OPTS(), IMAGE, "sh", "-c", "tty; exit 5"]);
    expect(run.stdout).toMatch(/^\/dev\/pts\/\d+$/m);
    expect(run.code).toBe(5);
    const typed = inTerminal(
      ["run", "--rm", "-i", "-t", ...OPTS(), IMAGE, "sh"],
      "echo typed-$((1+2))\nexit 0\n",
    );
    // The shell's answer (its prompt may share the line, as the input can arrive before it).
    expect(typed.stdout).toMatch(/typed-3$/m);
    const name = `t${process.pid}`;
    podmanOk(["run", "-d", "--name", name, ...OPTS(), IMAGE, "sleep", "1000"]);
    const ex = inTerminal(["exec", "-t", name, "sh", "-c", "tty; exit 6"]);
    expect(ex.stdout).toMatch(/^\/dev\/pts\/\d+$/m);
    expect(ex.code).toBe(6);
    podmanOk(["rm", "-f", "-t", "0", name]);
  });
});
