// Each container gets its own cgroup in every hierarchy of this host (here:
// the hybrid layout), joined by its process and removed by delete.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { deviceEntries } from "../../src/cgroups/devices.ts";
import { attachDeviceFilter, attachedDevicePrograms } from "../../src/cgroups/ebpf.ts";
import { O } from "../../src/sys/constants.ts";
import { sys } from "../../src/sys/lib.ts";
import { cstr } from "../../src/sys/mem.ts";
import { BUNC, useTestEnv } from "./harness.ts";

const env = useTestEnv();

function cgroupOf(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n")) {
    const [, controllers = "", path = ""] = line.split(":");
    out.set(controllers, path);
  }
  return out;
}

describe("cgroups", () => {
  test("the container's process is in its own cgroup in every hierarchy, from create; delete removes it", () => {
    const id = env.id("cg");
    env.ok(["create", "--bundle", env.bundle(id, ["sleep", "100"]), id]);
    const { pid } = env.state(id);
    const dirs = env.cgroupDirs(id);
    expect(dirs.length).toBeGreaterThanOrEqual(2);
    for (const d of dirs) expect(existsSync(d)).toBe(true);
    // With no tight limit the waiting init is in its cgroup already, where
    // engines read it at create (containerd's shim reads /proc/<pid>/cgroup).
    const paths = cgroupOf(pid);
    for (const path of paths.values()) expect(path).toBe(`${env.cgroupParent}/${id}`);
    expect(paths.size).toBe(dirs.length);
    env.ok(["start", id]);
    for (const d of dirs) expect(readFileSync(`${d}/cgroup.procs`, "utf8").trim()).toBe(String(pid));
    env.ok(["delete", "--force", id]);
    for (const d of dirs) expect(existsSync(d)).toBe(false);
  });

  test("under tight limits the init joins only when it starts, so that they cannot break it", async () => {
    const id = env.id("cg");
    const bundle = env.bundle(id, ["sleep", "100"], (c) => {
      c.linux = {
        ...c.linux,
        resources: { ...c.linux?.resources, memory: { limit: 4 << 20 }, pids: { limit: 4 } },
      };
    });
    env.ok(["create", "--bundle", bundle, id]);
    const { pid } = env.state(id);
    const dirs = env.cgroupDirs(id);
    // It starts in the cgroup2 one, which holds no memory or pids controller on this host.
    const v2Dir = dirs.find((d) => !existsSync(`${d}/tasks`));
    const v2HasLimits =
      v2Dir !== undefined && /\b(memory|pids)\b/.test(readFileSync(`${v2Dir}/cgroup.controllers`, "utf8"));
    for (const [controllers, path] of cgroupOf(pid)) {
      if (controllers === "" && !v2HasLimits) expect(path).toBe(`${env.cgroupParent}/${id}`);
      else expect(path).not.toContain(id);
    }
    env.ok(["start", id]);
    // start returns once the init is released; it joins just before execve.
    for (let i = 0; i < 200 && cgroupOf(pid).get("pids") !== `${env.cgroupParent}/${id}`; i++)
      await Bun.sleep(5);
    for (const path of cgroupOf(pid).values()) expect(path).toBe(`${env.cgroupParent}/${id}`);
    env.ok(["delete", "--force", id]);
  });

  test("devices: deny all, then the default allow list", () => {
    const id = env.id("dev");
    env.ok(["create", "--bundle", env.bundle(id, ["true"]), id]);
    const devices = env.cgroupDirs(id).find((d) => d.includes("/devices/"));
    expect(devices).toBeDefined();
    expect(readFileSync(`${devices}/devices.list`, "utf8").trim().split("\n").sort()).toEqual(
      [
        "b *:* m",
        "c *:* m",
        "c 1:3 rwm",
        "c 1:5 rwm",
        "c 1:7 rwm",
        "c 1:8 rwm",
        "c 1:9 rwm",
        "c 136:* rwm",
        "c 5:0 rwm",
        "c 5:2 rwm",
      ].sort(),
    );
    env.ok(["delete", id]);
  });

  test("device rules are enforced inside the container", () => {
    const id = env.id("devuse");
    const bundle = env.bundle(
      id,
      ["sh", "-c", "head -c 1 /dev/kmsg 2>&1 || echo denied; echo x > /dev/null && echo null-ok"],
      (c) => {
        c.mounts!.push({ destination: "/dev/kmsg", type: "bind", source: "/dev/kmsg", options: ["bind"] });
      },
    );
    const r = env.bunc(["run", "--bundle", bundle, id]);
    expect(r.stdout).toContain("Operation not permitted");
    expect(r.stdout).toContain("null-ok");
  });

  test("a relative cgroupsPath goes below bunc's own cgroup", () => {
    // bunc runs from a cgroup of the test's own (in every hierarchy), so the
    // relative path lands below it and nothing is made under anyone else's.
    const home = `${env.cgroupParent}/home`;
    const homes = env.hierarchies().map((h) => `${h}${home}`);
    for (const dir of homes) {
      mkdirSync(dir, { recursive: true });
      for (const f of ["cpuset.cpus", "cpuset.mems"]) {
        if (existsSync(`${dir}/${f}`))
          writeFileSync(`${dir}/${f}`, readFileSync(`${dir}/../${f}`, "utf8").trim());
      }
    }
    const id = env.id("rel");
    const bundle = env.bundle(id, ["true"], (c) => {
      c.linux!.cgroupsPath = `rel/${id}`;
    });
    const join = homes.map((d) => `echo $$ > ${d}/cgroup.procs`).join("; ");
    const r = Bun.spawnSync(
      ["sh", "-c", `${join}; exec "$@"`, "sh", BUNC, "--root", env.root, "create", "--bundle", bundle, id],
      {
        stdio: ["ignore", "ignore", "ignore"],
      },
    );
    expect(r.exitCode).toBe(0);
    const made = homes.map((d) => `${d}/rel/${id}`);
    for (const d of made) expect(existsSync(d)).toBe(true);
    env.ok(["delete", id]);
    for (const d of made) expect(existsSync(d)).toBe(false);
    for (const d of homes) {
      rmdirSync(`${d}/rel`);
      rmdirSync(d);
    }
  });

  test("a cgroupsPath already in use by other processes is refused", () => {
    const first = env.id("busy");
    env.ok(["run", "--detach", "--bundle", env.bundle(first, ["sleep", "100"]), first]);
    const second = env.id("busy");
    const r = env.bunc([
      "create",
      "--bundle",
      env.bundle(second, ["true"], (c) => {
        c.linux!.cgroupsPath = `${env.cgroupParent}/${first}`;
      }),
      second,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("is in use by other processes");
    env.ok(["delete", "--force", first]);
  });
});

describe.skipIf(!existsSync("/sys/fs/cgroup/unified/cgroup.procs"))("cgroup v2 device filter (eBPF)", () => {
  const v2 = "/sys/fs/cgroup/unified";

  test("the container's cgroup2 directory gets the device filter", () => {
    const id = env.id("bpf");
    env.ok(["create", "--bundle", env.bundle(id, ["true"]), id]);
    const fd = sys.bunc_openat2(-100, cstr(`${v2}${env.cgroupParent}/${id}`), O.RDONLY | O.DIRECTORY, 0, 0);
    expect(fd).toBeGreaterThan(0);
    expect(attachedDevicePrograms(fd)).toBe(1);
    sys.bunc_close(fd);
    env.ok(["delete", id]);
  });

  test("the filter alone enforces deny-all plus the default allow list", async () => {
    // A cgroup2 directory of our own; the process's v1 devices cgroup stays
    // the root (allow all), so any denial comes from the eBPF program.
    const dir = `${v2}${env.cgroupParent}-bpf`;
    mkdirSync(dir, { recursive: true });
    try {
      const fd = sys.bunc_openat2(-100, cstr(dir), O.RDONLY | O.DIRECTORY, 0, 0);
      attachDeviceFilter(fd, deviceEntries([{ allow: false, access: "rwm" }]));
      sys.bunc_close(fd);
      const script = `echo $$ > ${dir}/cgroup.procs; head -c1 /dev/kmsg >/dev/null 2>&1; echo kmsg=$?; echo > /dev/null; echo null=$?; head -c1 /dev/urandom | wc -c`;
      const r = Bun.spawnSync(["sh", "-c", script]);
      expect(r.stdout.toString()).toBe("kmsg=1\nnull=0\n1\n");
    } finally {
      for (let i = 0; i < 100; i++) {
        try {
          rmdirSync(dir);
          break;
        } catch {
          await Bun.sleep(10);
        }
      }
    }
    expect(existsSync(dir)).toBe(false);
  });
});
