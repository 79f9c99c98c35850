// bunc under Kubernetes' CRI: a containerd of the test's own (root, state,
// sockets in the test's directory, in a network namespace of its own) whose
// CRI plugin has the runtime handler `bunc` (io.containerd.runc.v2 with
// BinaryName = bunc), driven by a CRI client written here with
// @grpc/grpc-js against the runtime v1 API that containerd itself carries.
// Images (a pause program and the test's rootfs) are built and imported by
// the test; CNI is Debian's bridge and loopback plugins inside the test's
// network namespace. Each step prints a line.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import * as tar from "tar";
import { call, type CriClients, criClients } from "../cri/proto.ts";
import { writeDockerSave } from "../fixtures/images.ts";
import {
  HostLeftovers,
  installEngines,
  PrivateNetns,
  RUNTIME,
  removeEngineCgroups,
  scenarios,
  startContainerd,
  stopDaemon,
} from "./engines.ts";
import { useTestEnv } from "./harness.ts";

const env = useTestEnv();
setDefaultTimeout(120_000);
const { scenario, report } = scenarios("containerd CRI");
const PAUSE = "localhost/bunc-pause:1";
const IMAGE = "localhost/bunc-test:1";

let dir = "";
let containerd: Subprocess | undefined;
let netns: PrivateNetns | undefined;
let leftovers: HostLeftovers | undefined;
let cri: CriClients;
let tool = "";

const rt = <T = Record<string, unknown>>(method: string, request: object) =>
  call<T>(cri.runtime, method, request);

function ctrImport(file: string): void {
  const r = Bun.spawnSync(["ctr", "-a", `${dir}/containerd.sock`, "-n", "k8s.io", "images", "import", file], {
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`ctr images import: ${r.stderr.toString()}`);
}

function cc(src: string, out: string): void {
  const r = Bun.spawnSync(["cc", "-static", "-O2", "-o", out, src], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`cc ${src}: ${r.stderr.toString()}`);
}

const step = (line: string) => console.log(`  cri: ${line}`);

describe("containerd's CRI with bunc as the runtime handler", () => {
  beforeAll(async () => {
    installEngines();
    leftovers = new HostLeftovers(["/run/containerd", "/var/lib/cni", "/run/netns"]);
    dir = join(env.dir, "cri");
    mkdirSync(join(dir, "cni"), { recursive: true });
    netns = new PrivateNetns(dir);
    // containerd wants an eth0 for a pod: a bridge of Debian's CNI plugins, inside the test's
    // namespace, no masquerade, its address leases in the test's directory.
    writeFileSync(
      join(dir, "cni", "10-cri.conflist"),
      JSON.stringify({
        cniVersion: "0.4.0",
        name: "cri",
        plugins: [
          {
            type: "bridge",
            bridge: "cri0",
            isGateway: true,
            ipMasq: false,
            ipam: { type: "host-local", ranges: [[{ subnet: "10.99.0.0/24" }]], dataDir: join(dir, "ipam") },
          },
          { type: "loopback" },
        ],
      }),
    );
    containerd = await startContainerd(dir, netns, [
      '[plugins."io.containerd.grpc.v1.cri"]',
      `  sandbox_image = "${PAUSE}"`,
      "  enable_selinux = false",
      // A sandbox asks for oom_score_adj -998, below ours, which this host lets no one set without
      // CAP_SYS_RESOURCE (runc fails the same way): keep it at containerd's own.
      "  restrict_oom_score_adj = true",
      '[plugins."io.containerd.grpc.v1.cri".containerd]',
      '  default_runtime_name = "bunc"',
      '  snapshotter = "native"',
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.bunc]',
      '  runtime_type = "io.containerd.runc.v2"',
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.bunc.options]',
      `  BinaryName = "${RUNTIME}"`,
      "  SystemdCgroup = false",
      '[plugins."io.containerd.grpc.v1.cri".cni]',
      '  bin_dir = "/usr/lib/cni"',
      `  conf_dir = "${dir}/cni"`,
    ]);
    cri = criClients("/usr/bin/containerd", `${dir}/containerd.sock`);
    // The pause image and the test's rootfs as images, built here.
    const pauseRoot = join(dir, "pause-root");
    mkdirSync(pauseRoot);
    cc(resolve(import.meta.dir, "../fixtures/pause.c"), join(pauseRoot, "pause"));
    tool = join(dir, "tcptool");
    cc(resolve(import.meta.dir, "../fixtures/tcptool.c"), tool);
    const layer = (cwd: string) => {
      const file = join(dir, "layer.tar");
      tar.c({ sync: true, file, cwd }, ["."]);
      return readFileSync(file);
    };
    writeDockerSave(join(dir, "pause.tar"), join(dir, "pause-save"), {
      layers: [layer(pauseRoot)],
      config: { Cmd: ["/pause"] },
      repoTag: PAUSE,
    });
    writeDockerSave(join(dir, "image.tar"), join(dir, "image-save"), {
      layers: [layer(env.rootfs)],
      config: { Env: ["PATH=/usr/bin:/bin"] },
      repoTag: IMAGE,
    });
    ctrImport(join(dir, "pause.tar"));
    ctrImport(join(dir, "image.tar"));
  }, 300_000);

  afterAll(async () => {
    report();
    if (cri) {
      try {
        const { items } = await rt<{ items: { id: string }[] }>("ListPodSandbox", {});
        for (const p of items) {
          await rt("StopPodSandbox", { pod_sandbox_id: p.id }).catch(() => {});
          await rt("RemovePodSandbox", { pod_sandbox_id: p.id }).catch(() => {});
        }
      } catch {
        // The daemon is gone; what it left is removed below.
      }
      cri.runtime.close();
      cri.image.close();
    }
    await stopDaemon(containerd, dir);
    netns?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await removeEngineCgroups(env, "cri");
    leftovers?.remove();
  }, 120_000);

  scenario("Version names containerd's CRI", async () => {
    const v = await rt<{ runtime_name: string; runtime_api_version: string }>("Version", {});
    step(`Version: ${v.runtime_name} ${v.runtime_api_version}`);
    expect(v.runtime_name).toBe("containerd");
    expect(v.runtime_api_version).toBe("v1");
  });

  scenario(
    "a pod of two containers: shared network, IPC and UTS, localhost, hostname, ExecSync, limits, exit codes, logs; stop and remove leave nothing",
    async () => {
      const logs = join(dir, "logs");
      mkdirSync(logs, { recursive: true });
      const sandboxConfig = {
        metadata: { name: "pod", uid: `uid-${process.pid}`, namespace: "test", attempt: 0 },
        hostname: "crihost",
        log_directory: logs,
        linux: {
          cgroup_parent: `${env.cgroupParent}/cri`,
          security_context: { namespace_options: { pid: "CONTAINER" } },
        },
      };
      const { pod_sandbox_id: pod } = await rt<{ pod_sandbox_id: string }>("RunPodSandbox", {
        config: sandboxConfig,
        runtime_handler: "bunc",
      });
      step(`RunPodSandbox: ${pod.slice(0, 12)}`);
      const container = async (name: string, command: string[], extra: object = {}) => {
        const { container_id } = await rt<{ container_id: string }>("CreateContainer", {
          pod_sandbox_id: pod,
          sandbox_config: sandboxConfig,
          config: {
            metadata: { name, attempt: 0 },
            image: { image: IMAGE },
            command,
            log_path: `${name}.log`,
            mounts: [{ container_path: "/tcptool", host_path: tool, readonly: true }],
            // As kubelet asks by default: a pid namespace of the container's own.
            linux: { security_context: { namespace_options: { pid: "CONTAINER" } }, ...extra },
          },
        });
        await rt("StartContainer", { container_id });
        step(`CreateContainer + StartContainer: ${name}`);
        return container_id;
      };
      const server = await container("server", ["/tcptool", "serve", "7000"], {
        resources: { memory_limit_in_bytes: 64 << 20, cpu_period: 100000, cpu_quota: 50000 },
      });
      const client = await container("client", ["sleep", "1000"]);
      const exec = (id: string, cmd: string[]) =>
        rt<{ stdout: Buffer; stderr: Buffer; exit_code: number }>("ExecSync", {
          container_id: id,
          cmd,
          timeout: 10,
        });
      let reply = await exec(client, ["/tcptool", "send", "127.0.0.1", "7000", "over-localhost"]);
      for (let i = 0; i < 20 && reply.exit_code !== 0; i++) {
        await Bun.sleep(100);
        reply = await exec(client, ["/tcptool", "send", "127.0.0.1", "7000", "over-localhost"]);
      }
      step("ExecSync: client -> server over localhost");
      expect(reply.stdout.toString()).toBe("echo:over-localhost\n");
      const code = await exec(client, ["sh", "-c", "hostname; echo err >&2; exit 3"]);
      expect([code.stdout.toString(), code.stderr.toString(), code.exit_code]).toEqual([
        "crihost\n",
        "err\n",
        3,
      ]);
      // Both joined the sandbox's network, IPC and UTS namespaces (their pid namespaces are their own).
      const ns = async (id: string) =>
        (
          await exec(id, [
            "readlink",
            "/proc/self/ns/net",
            "/proc/self/ns/ipc",
            "/proc/self/ns/uts",
            "/proc/self/ns/pid",
          ])
        ).stdout
          .toString()
          .split("\n");
      const [serverNs, clientNs] = [await ns(server), await ns(client)];
      expect(serverNs.slice(0, 3)).toEqual(clientNs.slice(0, 3));
      expect(serverNs[3]).not.toBe(clientNs[3]);
      step("ExecSync: the two share network, IPC and UTS namespaces");
      // The server's limits, in its cgroup as the kernel has them.
      const limits = await exec(server, [
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us",
      ]);
      expect(limits.stdout.toString()).toBe(`${64 << 20}\n50000\n`);
      step("limits from the container config are in its cgroup");
      const { containers } = await rt<{ containers: { id: string; metadata: { name: string } }[] }>(
        "ListContainers",
        {
          filter: { pod_sandbox_id: pod },
        },
      );
      expect(containers.map((c) => c.metadata.name).sort()).toEqual(["client", "server"]);
      // A container that exits is reported with its exit code; its log is where CRI says.
      const done = await container("done", ["sh", "-c", "echo to-the-log; exit 7"]);
      let status = await rt<{ status: { state: string; exit_code: number; log_path: string } }>(
        "ContainerStatus",
        { container_id: done },
      );
      for (let i = 0; i < 50 && status.status.state !== "CONTAINER_EXITED"; i++) {
        await Bun.sleep(100);
        status = await rt("ContainerStatus", { container_id: done });
      }
      step(`ContainerStatus: ${status.status.state} ${status.status.exit_code}`);
      expect(status.status.exit_code).toBe(7);
      expect(readFileSync(status.status.log_path, "utf8")).toMatch(/ stdout F to-the-log\n$/);
      for (const id of [server, client, done]) {
        await rt("StopContainer", { container_id: id, timeout: 1 });
        await rt("RemoveContainer", { container_id: id });
      }
      await rt("StopPodSandbox", { pod_sandbox_id: pod });
      await rt("RemovePodSandbox", { pod_sandbox_id: pod });
      step("StopContainer, RemoveContainer, StopPodSandbox, RemovePodSandbox");
      // No bunc state, no cgroup below the pod's parent, no mount of the pod's.
      const states = join(dir, "state", "io.containerd.runtime.v2.task", "k8s.io");
      expect(existsSync(states) ? readdirSync(states) : []).toEqual([]);
      for (const h of env.hierarchies()) {
        const parent = `${h}${env.cgroupParent}/cri`;
        const children = existsSync(parent)
          ? readdirSync(parent, { withFileTypes: true }).filter((e) => e.isDirectory())
          : [];
        expect(children.map((e) => e.name)).toEqual([]);
      }
      expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(pod);
    },
  );
});
