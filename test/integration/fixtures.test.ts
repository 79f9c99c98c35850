// The configs real tools write (test/fixtures/configs, see its README): each
// is validated; those that need only what bunc supports run, as written, in
// a real container; the others are refused with the first field bunc does
// not support yet. An issue that adds a field flips its fixtures to RUNS.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Config } from "../../src/oci/config.ts";
import { parseConfig } from "../../src/oci/validate.ts";
import { useTestEnv } from "./harness.ts";

const env = useTestEnv();
const DIR = resolve(import.meta.dir, "../fixtures/configs");

const RUNS = "runs";
/** A long-running process: created and started as written, checked, then deleted. */
const STARTS = "starts";
/** Valid, and supported, but more than this host allows (stated in the message). */
type HostRefuses = { host: string };
const FIXTURES: Record<string, typeof RUNS | typeof STARTS | { refused: string } | HostRefuses> = {
  "runc-1.1-spec.json": RUNS,
  "runc-1.1-spec-rootless.json": RUNS,
  "runc-1.2-spec.json": RUNS,
  "runc-1.2-spec-rootless.json": RUNS,
  "crun-spec.json": RUNS,
  "crun-spec-rootless.json": RUNS,
  // Its RLIMIT_NOFILE of 1048576 is above this host's hard limit, which only CAP_SYS_RESOURCE could raise.
  "podman-4.json": { host: "process.rlimits[0]: " },
  "containerd-1.6-ctr-run.json": STARTS,
  "docker-20.10.json": STARTS,
};

const load = (name: string): Config => JSON.parse(readFileSync(join(DIR, name), "utf8"));

/**
 * The fixture with only where it runs changed: its root, a cgroup under the
 * test's parent, bind sources the engine had made in its own storage
 * (podman's userdata files, and its shm directory) made in the test's dir,
 * and hooks that ran the engine's own binary (docker's /proc/<dockerd>/exe
 * libnetwork-setkey) pointed at a stub that records what it was given.
 */
function bundleOf(name: string, id: string): string {
  const config = load(name);
  config.root.path = env.rootfs;
  config.linux = { ...config.linux, cgroupsPath: `${env.cgroupParent}/${id}` };
  const dir = join(env.dir, "fixtures", id);
  mkdirSync(dir, { recursive: true });
  for (const m of config.mounts ?? []) {
    if (
      !m.source?.startsWith("/") ||
      existsSync(m.source) ||
      !m.options?.some((o) => o === "bind" || o === "rbind")
    )
      continue;
    m.source = join(dir, "sources", basename(m.source));
    if (m.destination === "/dev/shm") mkdirSync(m.source, { recursive: true });
    else {
      mkdirSync(dirname(m.source), { recursive: true });
      writeFileSync(m.source, "");
    }
  }
  for (const list of Object.values(config.hooks ?? {})) {
    for (const h of list ?? []) {
      if (!/^\/proc\/\d+\/exe$/.test(h.path)) continue;
      h.path = join(dir, "engine-hook");
      writeFileSync(
        h.path,
        `#!/bin/sh\necho "$@" > ${dir}/engine-hook.args\ncat > ${dir}/engine-hook.state\n`,
        {
          mode: 0o755,
        },
      );
    }
  }
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
    } else if (expected === STARTS) {
      test(`${name}: valid, and starts as written with its resources and hooks`, () => {
        const config = load(name);
        const id = env.id("fixture");
        env.ok(["create", "--bundle", bundleOf(name, id), id]);
        try {
          env.ok(["start", id]);
          expect(env.state(id).status).toBe("running");
          const engineHook = config.hooks?.prestart?.find((h) => /^\/proc\/\d+\/exe$/.test(h.path));
          if (engineHook) {
            const dir = join(env.dir, "fixtures", id);
            expect(readFileSync(join(dir, "engine-hook.args"), "utf8").trim()).toBe(
              (engineHook.args ?? []).slice(1).join(" "),
            );
            expect(JSON.parse(readFileSync(join(dir, "engine-hook.state"), "utf8"))).toMatchObject({
              id,
              status: "creating",
            });
          }
          const shares = config.linux?.resources?.cpu?.shares;
          if (shares)
            expect(
              readFileSync(`/sys/fs/cgroup/cpu${env.cgroupParent}/${id}/cpu.shares`, "utf8").trim(),
            ).toBe(String(shares));
        } finally {
          env.ok(["delete", "--force", id]);
        }
      });
    } else if ("host" in expected) {
      test(`${name}: valid, and refused only for what this host does not allow, by name`, () => {
        expect(() => parseConfig(readFileSync(join(DIR, name), "utf8"))).not.toThrow();
        const id = env.id("fixture");
        const r = env.bunc(["create", "--bundle", bundleOf(name, id), id]);
        expect(r.code).toBe(1);
        expect(r.stderr).toStartWith(`bunc: ${expected.host}`);
        expect(r.stderr.split("\n")).toHaveLength(2);
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
