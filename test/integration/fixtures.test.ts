// The configs real tools write (test/fixtures/configs, see its README): each
// is validated; those that need only what bunc supports run, as written, in
// a real container; the others are refused with the first field bunc does
// not support yet. An issue that adds a field flips its fixtures to RUNS.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Config } from "../../src/oci/config.ts";
import { parseConfig } from "../../src/oci/validate.ts";
import { useTestEnv } from "./harness.ts";

const env = useTestEnv();
const DIR = resolve(import.meta.dir, "../fixtures/configs");

const RUNS = "runs";
const FIXTURES: Record<string, typeof RUNS | { refused: string }> = {
  "runc-1.1-spec.json": RUNS,
  "runc-1.1-spec-rootless.json": RUNS,
  "runc-1.2-spec.json": RUNS,
  "runc-1.2-spec-rootless.json": RUNS,
  "crun-spec.json": RUNS,
  "crun-spec-rootless.json": RUNS,
  "podman-4.json": { refused: "linux.resources.pids: not supported by bunc yet" },
  "containerd-1.6-ctr-run.json": { refused: "linux.resources.cpu: not supported by bunc yet" },
  "docker-20.10.json": { refused: "hooks: not supported by bunc yet" },
};

const load = (name: string): Config => JSON.parse(readFileSync(join(DIR, name), "utf8"));

/** The fixture with only where it runs changed: its root and a cgroup under the test's parent. */
function bundleOf(name: string, id: string): string {
  const config = load(name);
  config.root.path = env.rootfs;
  config.linux = { ...config.linux, cgroupsPath: `${env.cgroupParent}/${id}` };
  const dir = join(env.dir, "fixtures", id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

// The kernel keeps an ambient capability only while it is permitted and inheritable.
function droppedAmbient(config: Config): string[] {
  const caps = config.process.capabilities ?? {};
  const keep = new Set((caps.permitted ?? []).filter((c) => (caps.inheritable ?? []).includes(c)));
  return (caps.ambient ?? []).filter((c) => !keep.has(c));
}

test("every file in the fixtures folder is in the table", () => {
  const files = require("node:fs")
    .readdirSync(DIR)
    .filter((f: string) => f.endsWith(".json"));
  expect(files.sort()).toEqual(Object.keys(FIXTURES).sort());
});

describe("configs real tools write", () => {
  for (const [name, expected] of Object.entries(FIXTURES)) {
    if (expected === RUNS) {
      test(`${name}: valid, and runs as written (its terminal driven through bunc's pty)`, () => {
        const config = load(name);
        expect(() => parseConfig(JSON.stringify(config))).not.toThrow();
        const id = env.id("fixture");
        const r = env.bunc(["run", "--bundle", bundleOf(name, id), id], {
          stdin: 'echo "marker $(id -u) $(hostname)"; exit 0\n',
        });
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`marker 0 ${config.hostname}`);
        const warnings = droppedAmbient(config).map((c) => `process.capabilities.ambient: ${c} is not in`);
        const lines = r.stderr.split("\n").filter(Boolean);
        expect(lines).toHaveLength(warnings.length);
        for (const w of warnings) expect(lines.some((l) => l.startsWith(`bunc: warning: ${w}`))).toBe(true);
        expect(existsSync(join(env.root, id))).toBe(false);
      });
    } else {
      test(`${name}: valid up to the first field bunc does not support yet, which is named`, () => {
        expect(() => parseConfig(readFileSync(join(DIR, name), "utf8"))).toThrow(expected.refused);
        const id = env.id("fixture");
        const r = env.bunc(["create", "--bundle", bundleOf(name, id), id]);
        expect(r.code).toBe(1);
        expect(r.stderr).toBe(`bunc: ${expected.refused}\n`);
        expect(existsSync(join(env.root, id))).toBe(false);
      });
    }
  }
});
