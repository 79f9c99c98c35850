import { expect, test } from "bun:test";
import { planSysctl } from "../../src/plan/sysctl.ts";
import { defaultSpec } from "../../src/oci/default.ts";

const plan = (sysctl: Record<string, string>) => {
  const c = defaultSpec();
  c.linux!.sysctl = sysctl;
  return planSysctl(c);
};

test("dotted and slash keys map to /proc/sys paths", () => {
  expect(
    plan({ "net.ipv4.ip_forward": "1", "net/ipv4/conf/eth0.1/forwarding": "1", "kernel.shmmax": "1" }),
  ).toEqual([
    ["net.ipv4.ip_forward", "sys/net/ipv4/ip_forward", "1"],
    ["net/ipv4/conf/eth0.1/forwarding", "sys/net/ipv4/conf/eth0.1/forwarding", "1"],
    ["kernel.shmmax", "sys/kernel/shmmax", "1"],
  ]);
});

test.each([
  "net/../kernel/core_pattern",
  "net/../../sysrq-trigger",
  "net..kernel.core_pattern",
  "net/./ipv4/x",
  "net//x",
  "net/ipv4/a b",
])("%p cannot climb out or hide its name", (key) => {
  expect(() => plan({ [key]: "x" })).toThrow(`linux.sysctl.${key}: is not a sysctl name`);
});

test("a sysctl no namespace isolates, or one of the host's own namespace joined by path, is refused", () => {
  expect(() => plan({ "kernel.core_pattern": "x" })).toThrow("is not isolated by a namespace");
  const c = defaultSpec();
  c.linux!.namespaces = c.linux!.namespaces!.map((n) =>
    n.type === "network" ? { type: "network", path: "/proc/self/ns/net" } : n,
  );
  c.linux!.sysctl = { "net.ipv4.ip_forward": "1" };
  expect(() => planSysctl(c)).toThrow("needs the container to have its own network namespace");
});
