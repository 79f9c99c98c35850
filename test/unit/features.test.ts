// `features` must list exactly what bunc accepts.
import { expect, test } from "bun:test";
import { planNamespaces } from "../../src/plan/namespaces.ts";
import { parseOptions } from "../../src/plan/mountOptions.ts";
import { NamespaceType } from "../../src/oci/config.ts";
import { defaultSpec } from "../../src/oci/default.ts";
import { features } from "../../src/plan/features.ts";
import { parseConfig } from "../../src/oci/validate.ts";
import { compileSeccomp } from "../../src/seccomp/compile.ts";

const doc = features() as {
  ociVersionMin: string;
  ociVersionMax: string;
  mountOptions: string[];
  linux: { namespaces: string[]; capabilities: string[] };
};

test("every listed mount option is taken; options refused are not listed", () => {
  for (const o of doc.mountOptions) expect(() => parseOptions([o], "x")).not.toThrow();
  for (const o of ["copy-symlink", "src-nofollow"]) {
    expect(doc.mountOptions).not.toContain(o);
    expect(() => parseOptions([o], "x")).toThrow("not supported");
  }
});

test("every listed namespace can be created", () => {
  const config = defaultSpec();
  config.linux!.namespaces = doc.linux.namespaces.map((type) => ({ type }) as never);
  config.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  config.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  expect(planNamespaces(config).joins).toEqual([]);
  // Every namespace type of the schema is listed (and so accepted above).
  expect([...doc.linux.namespaces].sort()).toEqual([...NamespaceType.options].sort());
});

test("the version range is what validation accepts", () => {
  for (const v of [doc.ociVersionMin, doc.ociVersionMax]) {
    const c = defaultSpec();
    c.ociVersion = v;
    expect(() => parseConfig(JSON.stringify(c))).not.toThrow();
  }
  expect(doc.linux.capabilities).toContain("CAP_CHECKPOINT_RESTORE");
});

test("memory policy modes and flags are those the schema takes", () => {
  const linux = features().linux as { memoryPolicy: { modes: string[]; flags: string[] } };
  for (const mode of linux.memoryPolicy.modes) {
    const c = defaultSpec();
    c.linux!.memoryPolicy = { mode: mode as never, flags: linux.memoryPolicy.flags as never };
    expect(() => parseConfig(JSON.stringify(c))).not.toThrow();
  }
});

test("every listed seccomp action, operator, architecture and flag compiles; others are refused", () => {
  const seccomp = (features().linux as { seccomp: Record<string, string[]> }).seccomp;
  const compile = (s: Record<string, unknown>) => {
    const c = defaultSpec();
    c.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", ...s } as never;
    return compileSeccomp(parseConfig(JSON.stringify(c)).linux!.seccomp!, "linux.seccomp", "x64");
  };
  for (const action of seccomp.actions!) {
    const listener = action === "SCMP_ACT_NOTIFY" ? { listenerPath: "/run/agent.sock" } : {};
    expect(() => compile({ ...listener, syscalls: [{ names: ["getpid"], action }] })).not.toThrow();
  }
  for (const op of seccomp.operators!) {
    const args = [{ index: 1, value: 7, valueTwo: 7, op }];
    expect(() => compile({ syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args }] })).not.toThrow();
  }
  for (const arch of seccomp.archs!) expect(() => compile({ architectures: [arch] })).not.toThrow();
  for (const flag of seccomp.supportedFlags!) {
    // WAIT_KILLABLE_RECV goes with a listener, as the kernel requires.
    const listener = flag.endsWith("WAIT_KILLABLE_RECV")
      ? { listenerPath: "/a", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_NOTIFY" }] }
      : {};
    expect(() => compile({ flags: [flag], ...listener })).not.toThrow();
  }
  expect(() => compile({ syscalls: [{ names: ["getpid"], action: "SCMP_ACT_FOO" }] })).toThrow();
  expect(() => compile({ architectures: ["SCMP_ARCH_FOO"] })).toThrow();
  // An architecture of the spec this machine cannot run is no error (runc's
  // libseccomp takes it too): this kernel never shows it to the filter.
  expect(compile({ architectures: ["SCMP_ARCH_MIPS"] }).arches).toEqual(["SCMP_ARCH_X86_64"]);
  expect(() => compile({ flags: ["SECCOMP_FILTER_FLAG_FOO"] })).toThrow();
});
