// Bundled plugin `network`: a container whose annotation bunc.network is
// "bridge" gets a veth pair to a bridge of the runtime's network namespace,
// an address leased from the bridge's subnet, a default route through the
// bridge, optionally /etc/hosts, hostname and resolv.conf, and published
// ports. Everything is done with netlink and the C object: no `ip`,
// `iptables` or other tool. createRuntime makes it, recording each step in
// a directory of the container under the state root (with the container's
// network namespace pinned there), and poststop undoes what the record says.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { posix } from "node:path";
import { debug } from "../../src/diag.ts";
import type { Config } from "../../src/oci/config.ts";
import { MS, O } from "../../src/sys/constants.ts";
import { check } from "../../src/sys/errors.ts";
import { sys } from "../../src/sys/lib.ts";
import { cstr } from "../../src/sys/mem.ts";
import { rootless } from "../../src/sys/rootless.ts";
import { openPath } from "../../src/sys/open.ts";
import { isAlive, processStartTime } from "../../src/sys/process.ts";
import type { BundledPlugin, HookStateJson, PluginRuntime } from "../index.ts";
import { detach, readMade, removeMadeDir, saveMade } from "../record.ts";
import { writeEtcFiles } from "./etc.ts";
import { formatAddress } from "./ip.ts";
import { type LeaseStore, lease, release, releaseEverywhere } from "./leases.ts";
import { addAddress, addBridge, addDefaultRoute, addVeth, deleteLink, linkIndex, linkUp } from "./links.ts";
import { Netlink } from "./netlink.ts";
import type { ProxySpec } from "./proxy.ts";
import { IP_ANNOTATION, IP6_ANNOTATION, type NetworkRequest, readRequest } from "./request.ts";

/** What createRuntime made for a container, as far as it got. */
interface Made {
  bridge: string;
  hostIf: string;
  pinned: boolean;
  leased: boolean;
  proxy: { pid: number; startTime: string } | null;
}

const PEER = "eth0";

const pluginDir = (root: string) => `${root}/.network`;
const containerDir = (root: string, id: string) => `${pluginDir(root)}/containers/${id}`;

function leaseStore(root: string): LeaseStore {
  return { dir: pluginDir(root), exists: (id) => existsSync(`${root}/${id}/state.json`) };
}

/** The host end's name: the id's hash, so the same on every call, within IFNAMSIZ. */
const hostIfOf = (id: string) => `bunc${createHash("sha256").update(id).digest("hex").slice(0, 11)}`;

function ownNetworkNamespace(config: Config | undefined, id: string): void {
  const net = config?.linux?.namespaces?.find((n) => n.type === "network");
  if (!net || net.path)
    throw new Error(`network: container ${id} has no network namespace of its own (bunc.network needs one)`);
}

function configOf(state: HookStateJson, config: Config | undefined): Config {
  return config ?? (JSON.parse(readFileSync(`${state.bundle}/config.json`, "utf8")) as Config);
}

/** Starts the published ports' forwarder, detached; resolves once it has bound them all. */
async function startProxy(spec: ProxySpec): Promise<{ pid: number; startTime: string }> {
  const compiled = process.argv[1]?.startsWith("/$bunfs/") ?? false;
  const args = [...(compiled ? [] : [Bun.main]), "network-proxy", JSON.stringify(spec)];
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ["ignore", "pipe", "ignore"],
    env: {},
  });
  const line = await new Promise<string>((resolve) => {
    let text = "";
    const timer = setTimeout(() => resolve("network: the port forwarder did not start within 10 s"), 10_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes("\n")) {
        clearTimeout(timer);
        resolve(text.split("\n")[0] ?? "");
      }
    });
    child.on("exit", () => {
      clearTimeout(timer);
      resolve(text.split("\n")[0] || `network: the port forwarder exited (${child.exitCode})`);
    });
  });
  child.stdout?.destroy();
  child.unref();
  const pid = child.pid ?? -1;
  if (line !== "ready") {
    if (pid > 0) sys.bunc_kill(pid, 9);
    throw new Error(line);
  }
  return { pid, startTime: processStartTime(pid) ?? "" };
}

async function setUp(
  req: NetworkRequest,
  state: HookStateJson,
  config: Config,
  root: string,
  dir: string,
  made: Made,
): Promise<Record<string, string>> {
  const id = state.id;
  const pin = `${dir}/netns`;
  writeFileSync(pin, "", { mode: 0o600 });
  check(
    sys.bunc_mount(cstr(`/proc/${state.pid}/ns/net`), cstr(pin), cstr(""), MS.BIND, cstr("")),
    `network: pin the network namespace of container ${id}`,
  );
  made.pinned = true;
  saveMade(dir, made);
  const offset = lease(leaseStore(root), req.bridge, req.subnet, id, req.address);
  made.leased = true;
  saveMade(dir, made);
  debug(`network: ${id} pinned, leased`);
  const ip = req.subnet.base + offset;
  const gateway = req.subnet.base + 1n;
  const ip6 = req.subnet6 ? req.subnet6.base + offset : null;
  const gateway6 = req.subnet6 ? req.subnet6.base + 1n : null;
  const ipText = formatAddress(4, ip);
  const ip6Text = ip6 === null ? null : formatAddress(6, ip6);

  const nsFd = openPath(pin, O.RDONLY, `network: open the pinned network namespace of container ${id}`);
  let host: Netlink | undefined;
  let inside: Netlink | undefined;
  try {
    host = Netlink.open(null, `network: container ${id}`);
    const b = req.bridge;
    addBridge(host, b, `network: create bridge ${b}`);
    const bridge = linkIndex(host, b, `network: find bridge ${b}`);
    if (bridge === null) throw new Error(`network: bridge ${b} vanished as it was made`);
    addAddress(
      host,
      bridge,
      4,
      gateway,
      req.subnet.prefix,
      `network: add address ${formatAddress(4, gateway)}/${req.subnet.prefix} to bridge ${b}`,
      true,
    );
    if (req.subnet6 && gateway6 !== null)
      addAddress(
        host,
        bridge,
        6,
        gateway6,
        req.subnet6.prefix,
        `network: add address ${formatAddress(6, gateway6)}/${req.subnet6.prefix} to bridge ${b}`,
        true,
      );
    linkUp(host, bridge, null, `network: bring bridge ${b} up`, req.mtu);
    // Forwarding on the bridge only, never the host's other interfaces.
    writeFileSync(`/proc/sys/net/ipv4/conf/${b}/forwarding`, "1");
    if (req.subnet6) writeFileSync(`/proc/sys/net/ipv6/conf/${b}/forwarding`, "1");

    addVeth(
      host,
      made.hostIf,
      PEER,
      nsFd,
      req.mtu,
      `network: create veth ${made.hostIf} for container ${id}`,
    );
    const hostEnd = linkIndex(host, made.hostIf, `network: find veth ${made.hostIf}`);
    if (hostEnd === null) throw new Error(`network: veth ${made.hostIf} vanished as it was made`);
    linkUp(host, hostEnd, bridge, `network: attach veth ${made.hostIf} to bridge ${b}`);

    debug(`network: veth ${made.hostIf} in bridge ${b}`);
    inside = Netlink.open(nsFd, `network: container ${id}`);
    const lo = linkIndex(inside, "lo", `network: find lo in container ${id}`);
    if (lo !== null) linkUp(inside, lo, null, `network: bring lo up in container ${id}`);
    const eth0 = linkIndex(inside, PEER, `network: find ${PEER} in container ${id}`);
    if (eth0 === null) throw new Error(`network: ${PEER} did not appear in container ${id}`);
    addAddress(
      inside,
      eth0,
      4,
      ip,
      req.subnet.prefix,
      `network: add address ${ipText}/${req.subnet.prefix} to ${PEER} in container ${id}`,
    );
    if (req.subnet6 && ip6 !== null)
      addAddress(
        inside,
        eth0,
        6,
        ip6,
        req.subnet6.prefix,
        `network: add address ${ip6Text}/${req.subnet6.prefix} to ${PEER} in container ${id}`,
      );
    linkUp(inside, eth0, null, `network: bring ${PEER} up in container ${id}`);
    addDefaultRoute(
      inside,
      4,
      gateway,
      eth0,
      `network: add the default route via ${formatAddress(4, gateway)} in container ${id}`,
    );
    if (gateway6 !== null)
      addDefaultRoute(
        inside,
        6,
        gateway6,
        eth0,
        `network: add the default route via ${formatAddress(6, gateway6)} in container ${id}`,
      );
  } finally {
    inside?.close();
    host?.close();
    sys.bunc_close(nsFd);
  }
  debug(`network: ${id} has ${ipText}`);
  if (req.hosts) {
    const rootfs = posix.resolve(state.bundle, config.root.path);
    writeEtcFiles(state.pid, rootfs, id, { hostname: config.hostname ?? id, ip: ipText, ip6: ip6Text });
  }
  if (req.publish.length) {
    made.proxy = await startProxy({ id, target: ipText, ports: req.publish });
    saveMade(dir, made);
  }
  return {
    [IP_ANNOTATION]: `${ipText}/${req.subnet.prefix}`,
    ...(ip6Text && req.subnet6 ? { [IP6_ANNOTATION]: `${ip6Text}/${req.subnet6.prefix}` } : {}),
  };
}

/** Ends the forwarder (TERM, KILL after 2 s) and waits until it is gone. */
function stopProxy(proxy: { pid: number; startTime: string }): void {
  const alive = () => isAlive(proxy.pid, proxy.startTime);
  if (!alive()) return;
  sys.bunc_kill(proxy.pid, 15);
  for (let i = 0; alive(); i++) {
    if (i === 200) sys.bunc_kill(proxy.pid, 9);
    if (i === 500) throw new Error(`network: the port forwarder ${proxy.pid} does not end`);
    Bun.sleepSync(10);
  }
}

/**
 * Undoes what the record says was made; every step is tried, the first
 * failure reported. What can be found without the record (the host end of
 * the veth, by its name; the pin; the lease, on every bridge) is undone
 * even when it is lost.
 */
function tearDown(root: string, id: string): void {
  const dir = containerDir(root, id);
  if (!existsSync(dir)) return;
  const made = readMade<Made>(dir);
  const failures: string[] = [];
  const attempt = (fn: () => void) => {
    try {
      fn();
    } catch (e) {
      failures.push((e as Error).message);
    }
  };
  debug(`network: tearing ${id} down`);
  const proxy = made?.proxy;
  if (proxy) attempt(() => stopProxy(proxy));
  if (made?.pinned) {
    attempt(() => {
      const nsFd = openPath(
        `${dir}/netns`,
        O.RDONLY,
        `network: open the pinned network namespace of container ${id}`,
      );
      try {
        const inside = Netlink.open(nsFd, `network: container ${id}`);
        try {
          deleteLink(inside, PEER, `network: delete ${PEER} in container ${id}`);
        } finally {
          inside.close();
        }
      } finally {
        sys.bunc_close(nsFd);
      }
    });
  }
  const hostIf = made?.hostIf ?? hostIfOf(id);
  attempt(() => {
    const host = Netlink.open(null, `network: container ${id}`);
    try {
      deleteLink(host, hostIf, `network: delete veth ${hostIf} of container ${id}`);
    } finally {
      host.close();
    }
  });
  attempt(() => detach(`${dir}/netns`, `network: unpin the network namespace of container ${id}`));
  if (!made) attempt(() => releaseEverywhere(leaseStore(root), id));
  else if (made.leased) attempt(() => release(leaseStore(root), made.bridge, id));
  if (!failures.length) attempt(() => removeMadeDir(dir, `network: container ${id}`));
  debug(`network: ${id} torn down`);
  if (failures.length) throw new Error(failures.join("; "));
}

const network: BundledPlugin = {
  async run(stage, state, _args, config, runtime?: PluginRuntime) {
    const root = runtime?.root;
    if (!root) throw new Error("network: the runtime's state root is not known");
    if (stage === "poststop") {
      tearDown(root, state.id);
      return;
    }
    if (stage !== "createRuntime" && stage !== "prestart")
      throw new Error(`network: runs at createRuntime and poststop, not ${stage}`);
    const req = readRequest(state.annotations ?? {});
    if (!req) return;
    if (rootless())
      throw new Error(
        "network: bunc.network=bridge makes a bridge and veths in the host's network namespace, which takes CAP_NET_ADMIN there, and bunc runs rootless; give the container --network none or host (shell mode), or a network namespace of its own made by other means (bunc does not drive slirp4netns or pasta)",
      );
    const cfg = configOf(state, config);
    ownNetworkNamespace(cfg, state.id);
    const dir = containerDir(root, state.id);
    if (existsSync(dir)) tearDown(root, state.id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const made: Made = {
      bridge: req.bridge,
      hostIf: hostIfOf(state.id),
      pinned: false,
      leased: false,
      proxy: null,
    };
    saveMade(dir, made);
    try {
      return { annotations: await setUp(req, state, cfg, root, dir, made) };
    } catch (e) {
      try {
        tearDown(root, state.id);
      } catch {
        // The create's error says what went wrong; poststop tries the rest again.
      }
      throw e;
    }
  },
};

export default network;
