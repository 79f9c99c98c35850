// The network plugin's pure parts: addresses and blocks, the annotations,
// the netlink attribute encoding, the files it writes, the lease store's
// refusal of a damaged file.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostsFile } from "../../hooks/network/etc.ts";
import { addressBytes, blockSize, formatAddress, parseAddress, parseCidr } from "../../hooks/network/ip.ts";
import { lease, release } from "../../hooks/network/leases.ts";
import { attr, nested } from "../../hooks/network/netlink.ts";
import { readRequest } from "../../hooks/network/request.ts";

describe("addresses", () => {
  test.each([
    ["10.77.0.1", 4, "10.77.0.1"],
    ["fd00::1", 6, "fd00::1"],
    ["2001:db8:0:0:1:0:0:1", 6, "2001:db8::1:0:0:1"],
    ["::ffff:10.0.0.1", 6, "::ffff:a00:1"],
    ["::", 6, "::"],
  ] as const)("%p parses as IPv%p and prints as %p", (text, family, printed) => {
    const a = parseAddress(text);
    expect(a?.family).toBe(family);
    expect(formatAddress(family, a?.value ?? 0n)).toBe(printed);
  });

  test.each(["10.77.0", "10.77.0.256", "010.1.1.1", "1::2::3", "fd00::g", "1.2.3.4.5", ""])(
    "%p is no address",
    (text) => expect(parseAddress(text)).toBeNull(),
  );

  test("blocks: host bits cleared, sizes, bytes in network order", () => {
    const c = parseCidr("10.77.3.4/16");
    expect(c && formatAddress(4, c.base)).toBe("10.77.0.0");
    expect(c && blockSize(c)).toBe(65536n);
    expect([...addressBytes(4, 0x0a4d0002n)]).toEqual([10, 77, 0, 2]);
    expect(parseCidr("10.0.0.0/33")).toBeNull();
    expect(parseCidr("10.0.0.0")).toBeNull();
    expect(parseCidr("fd00::/64")?.prefix).toBe(64);
  });
});

describe("the annotations", () => {
  const req = (a: Record<string, string>) => readRequest({ "bunc.network": "bridge", ...a });

  test("defaults, and everything given", () => {
    expect(readRequest({})).toBeNull();
    const d = req({});
    expect(d?.bridge).toBe("bunc0");
    expect(d && formatAddress(4, d.subnet.base)).toBe("10.77.0.0");
    const all = req({
      "bunc.network.bridge": "br-test",
      "bunc.network.subnet": "10.9.0.0/24, fd00:9::/64",
      "bunc.network.address": "10.9.0.7",
      "bunc.network.mtu": "1400",
      "bunc.network.publish": "8080:80, 5353:53/udp",
      "bunc.network.hosts": "true",
    });
    expect(all?.subnet6?.prefix).toBe(64);
    expect(all?.address).toBe(0x0a090007n);
    expect(all?.mtu).toBe(1400);
    expect(all?.publish).toEqual([
      { host: 8080, container: 80, protocol: "tcp" },
      { host: 5353, container: 53, protocol: "udp" },
    ]);
    expect(all?.hosts).toBe(true);
  });

  test.each([
    [{ "bunc.network": "host" }, 'network: annotation bunc.network: "host" is not a network mode bunc knows'],
    [
      { "bunc.network.subnet": "10.9.0.0/33" },
      'bunc.network.subnet: "10.9.0.0/33" does not start with an IPv4 CIDR',
    ],
    [{ "bunc.network.subnet": "10.9.0.0/31" }, "leaves no room for containers"],
    [{ "bunc.network.subnet": "10.9.0.0/24,10.8.0.0/24" }, "optionally followed by a comma and an IPv6 CIDR"],
    [
      { "bunc.network.address": "10.78.0.5" },
      'bunc.network.address: "10.78.0.5" is not a container address of 10.77.0.0/16',
    ],
    [{ "bunc.network.address": "10.77.0.1" }, "is not a container address of 10.77.0.0/16"],
    [
      { "bunc.network.publish": "70000:80" },
      'bunc.network.publish: "70000:80" has port 70000, not 1 to 65535',
    ],
    [{ "bunc.network.publish": "80" }, "is not HOSTPORT:CONTAINERPORT[/tcp|/udp]"],
    [{ "bunc.network.publish": "80:80,80:81" }, "publishes host port 80/tcp twice"],
    [{ "bunc.network.mtu": "9" }, "is not an MTU"],
    [{ "bunc.network.bridge": "a-name-far-too-long" }, "is not an interface name"],
    [{ "bunc.network.hosts": "yes" }, 'is neither "true" nor "false"'],
  ])("%p is refused: %p", (a, message) => {
    expect(() => readRequest({ "bunc.network": "bridge", ...a })).toThrow(message);
  });
});

test("netlink attributes: length, type, payload, padding to 4; nested ones flagged", () => {
  expect([...attr(3, "eth0")]).toEqual([9, 0, 3, 0, 101, 116, 104, 48, 0, 0, 0, 0]);
  expect([...attr(4, 1500)]).toEqual([8, 0, 4, 0, 0xdc, 0x05, 0, 0]);
  const n = nested(18, attr(1, "veth"));
  expect(n.readUInt16LE(0)).toBe(4 + 12);
  expect(n.readUInt16LE(2)).toBe(18 | 0x8000);
});

test("/etc/hosts names the container at its addresses", () => {
  expect(hostsFile({ hostname: "web", ip: "10.77.0.2", ip6: "fd00::2" })).toBe(
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.77.0.2\tweb\nfd00::2\tweb\n",
  );
});

describe("a damaged lease file", () => {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bunc-leases-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['{"subnet":"10.77.0.0/16","lea', "JSON"],
    ["null", "it has no subnet and leases"],
  ])("%p is refused, naming the file and what to do", (text, why) => {
    const store = { dir, exists: () => true };
    const file = join(dir, "bunc0.leases.json");
    writeFileSync(file, text);
    const subnet = parseCidr("10.77.0.0/16");
    if (!subnet) throw new Error("no subnet");
    for (const call of [() => lease(store, "bunc0", subnet, "c1", null), () => release(store, "bunc0", "c1")])
      expect(call).toThrow(
        new RegExp(
          `^network: the lease file ${file} is damaged \\(.*${why}.*\\): remove it once no container is on bridge bunc0`,
        ),
      );
    expect(readFileSync(file, "utf8")).toBe(text);
  });
});
