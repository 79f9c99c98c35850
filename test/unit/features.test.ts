// `features` must list exactly what bunc accepts.
import { expect, test } from "bun:test";
import { planNamespaces } from "../../src/plan/namespaces.ts";
import { parseOptions } from "../../src/plan/mountOptions.ts";
import { NamespaceType } from "../../src/oci/config.ts";
import { defaultSpec } from "../../src/oci/default.ts";
import { features } from "../../src/plan/features.ts";
import { parseConfig } from "../../src/oci/validate.ts";

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
