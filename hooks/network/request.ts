// What a container asks of the network plugin, read from its annotations.
// Every malformed value is refused with the annotation's name, before the
// plugin makes anything.
import { blockSize, type Cidr, contains, formatCidr, parseAddress, parseCidr } from "./ip.ts";

export const ANNOTATION = "bunc.network";
const A = {
  bridge: "bunc.network.bridge",
  subnet: "bunc.network.subnet",
  address: "bunc.network.address",
  mtu: "bunc.network.mtu",
  publish: "bunc.network.publish",
  hosts: "bunc.network.hosts",
} as const;
/** Where the plugin records the address it gave (shown by `bunc state`). */
export const IP_ANNOTATION = "bunc.network.ip";
export const IP6_ANNOTATION = "bunc.network.ip6";

export const DEFAULT_BRIDGE = "bunc0";
export const DEFAULT_SUBNET = "10.77.0.0/16";

export interface Port {
  readonly host: number;
  readonly container: number;
  readonly protocol: "tcp" | "udp";
}

export interface NetworkRequest {
  readonly bridge: string;
  readonly subnet: Cidr;
  readonly subnet6: Cidr | null;
  /** A static IPv4 address inside the subnet. */
  readonly address: bigint | null;
  readonly mtu: number | null;
  readonly publish: readonly Port[];
  readonly hosts: boolean;
}

const bad = (name: string, value: string, why: string) =>
  new Error(`network: annotation ${name}: ${JSON.stringify(value)} ${why}`);

function port(name: string, value: string, text: string): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < 1 || n > 65535)
    throw bad(name, value, `has port ${text}, not 1 to 65535`);
  return n;
}

function parsePublish(value: string | undefined): Port[] {
  if (value === undefined || value.trim() === "") return [];
  const ports = value.split(",").map((item) => {
    const m = /^\s*(\d+):(\d+)(?:\/(tcp|udp))?\s*$/.exec(item);
    if (!m) throw bad(A.publish, value, "is not HOSTPORT:CONTAINERPORT[/tcp|/udp], comma-separated");
    return {
      host: port(A.publish, value, m[1] ?? ""),
      container: port(A.publish, value, m[2] ?? ""),
      protocol: (m[3] ?? "tcp") as Port["protocol"],
    };
  });
  const seen = new Set<string>();
  for (const p of ports) {
    const key = `${p.host}/${p.protocol}`;
    if (seen.has(key)) throw bad(A.publish, value, `publishes host port ${key} twice`);
    seen.add(key);
  }
  return ports;
}

/** The container's request, or null when it does not ask for the bridge network. */
export function readRequest(annotations: Readonly<Record<string, string>>): NetworkRequest | null {
  const mode = annotations[ANNOTATION];
  if (mode === undefined) return null;
  if (mode !== "bridge") throw bad(ANNOTATION, mode, 'is not a network mode bunc knows (there is "bridge")');
  const bridge = annotations[A.bridge] ?? DEFAULT_BRIDGE;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/.test(bridge) || bridge === "." || bridge === "..")
    throw bad(A.bridge, bridge, "is not an interface name (1 to 15 letters, digits, _ . -)");
  const subnetText = annotations[A.subnet] ?? DEFAULT_SUBNET;
  const [v4Text = "", v6Text, extra] = subnetText.split(",").map((s) => s.trim());
  const subnet = parseCidr(v4Text);
  if (subnet?.family !== 4) throw bad(A.subnet, subnetText, "does not start with an IPv4 CIDR");
  if (subnet.prefix > 30) throw bad(A.subnet, subnetText, "leaves no room for containers (a /30 at most)");
  const subnet6 = v6Text === undefined ? null : parseCidr(v6Text);
  if (extra !== undefined || (v6Text !== undefined && subnet6?.family !== 6))
    throw bad(A.subnet, subnetText, "is not an IPv4 CIDR, optionally followed by a comma and an IPv6 CIDR");
  // The IPv6 address has the IPv4 one's host part: the block must be as large.
  if (subnet6 && blockSize(subnet6) < blockSize(subnet))
    throw bad(A.subnet, subnetText, `has an IPv6 block smaller than its IPv4 block ${formatCidr(subnet)}`);
  let address: bigint | null = null;
  const addressText = annotations[A.address];
  if (addressText !== undefined) {
    const a = parseAddress(addressText);
    if (a?.family !== 4) throw bad(A.address, addressText, "is not an IPv4 address");
    const offset = a.value - subnet.base;
    if (!contains(subnet, 4, a.value) || offset < 2n || offset >= blockSize(subnet) - 1n)
      throw bad(A.address, addressText, `is not a container address of ${formatCidr(subnet)}`);
    address = a.value;
  }
  const mtuText = annotations[A.mtu];
  let mtu: number | null = null;
  if (mtuText !== undefined) {
    mtu = Number(mtuText);
    if (!/^\d+$/.test(mtuText) || mtu < 576 || mtu > 65535)
      throw bad(A.mtu, mtuText, "is not an MTU (576 to 65535)");
  }
  const hostsText = annotations[A.hosts];
  if (hostsText !== undefined && hostsText !== "true" && hostsText !== "false")
    throw bad(A.hosts, hostsText, 'is neither "true" nor "false"');
  return {
    bridge,
    subnet,
    subnet6,
    address,
    mtu,
    publish: parsePublish(annotations[A.publish]),
    hosts: hostsText === "true",
  };
}
