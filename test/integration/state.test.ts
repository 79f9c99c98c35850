// The state bunc keeps, and what it does when that state is damaged, stale or
// tampered with: it finds and ends what is left, never acts on a cgroup that
// is not the container's own, and never reports success while a process of
// the container still runs. And many creates at once, on a loaded machine.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNC, useTestEnv } from "./harness.ts";

const env = useTestEnv();

const stateFile = (id: string) => join(env.root, id, "state.json");
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
};

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200 && alive(pid); i++) await Bun.sleep(10);
  return !alive(pid);
}

/** A running container and its state file's text. */
function running(prefix: string): { id: string; pid: number; text: string } {
  const id = env.id(prefix);
  env.ok(["run", "--detach", "--bundle", env.bundle(id, ["sleep", "100"]), id]);
  return { id, pid: env.state(id).pid, text: readFileSync(stateFile(id), "utf8") };
}

function expectAllGone(id: string): void {
  expect(existsSync(join(env.root, id))).toBe(false);
  for (const d of env.cgroupDirs(id)) expect(existsSync(d)).toBe(false);
}

describe("damaged state", () => {
  test("a state of another version: delete --force ends and removes the container", async () => {
    const { id, pid, text } = running("older");
    // As an older bunc might have written it: a field renamed, another missing.
    const old = JSON.parse(text);
    old.cgroup.dirs = old.cgroup.dirs.map((d: { dir: string }) => ({ dir: d.dir }));
    delete old.creating;
    writeFileSync(stateFile(id), JSON.stringify(old));
    const state = env.bunc(["state", id]);
    expect(state.code).toBe(1);
    expect(state.stderr).toContain(`state of container ${id} is damaged`);
    expect(env.bunc(["delete", id]).code).toBe(1);
    expect(alive(pid)).toBe(true);
    env.ok(["delete", "--force", id]);
    expect(await gone(pid)).toBe(true);
    expectAllGone(id);
  });

  test("a truncated state: listed as damaged; delete --force finds the init and cgroup in what is left", async () => {
    const { id, pid, text } = running("truncated");
    writeFileSync(stateFile(id), text.slice(0, Math.floor(text.length * 0.9)));
    const listed = JSON.parse(env.ok(["list", "--format", "json"])).find((e: { id: string }) => e.id === id);
    expect(listed.status).toBe("damaged");
    expect(env.ok(["list"])).toMatch(new RegExp(`^${id}\\s+0\\s+damaged`, "m"));
    const r = env.bunc(["delete", "--force", id]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      `bunc: warning: container ${id} had a damaged state; ended and removed what was found of it\n`,
    );
    expect(await gone(pid)).toBe(true);
    expectAllGone(id);
  });

  test("a state with nothing left to read: delete --force fails and keeps it while the container runs", async () => {
    const { id, pid, text } = running("garbage");
    writeFileSync(stateFile(id), "\u0000garbage");
    const r = env.bunc(["delete", "--force", id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`state of container ${id} is damaged beyond reading`);
    expect(alive(pid)).toBe(true);
    expect(existsSync(stateFile(id))).toBe(true);
    writeFileSync(stateFile(id), text);
    env.ok(["delete", "--force", id]);
    expect(await gone(pid)).toBe(true);
  });

  test("a directory without a state (a create killed before it wrote one) is listed as damaged and deletable", () => {
    const id = env.id("empty");
    mkdirSync(join(env.root, id), { recursive: true });
    expect(env.bunc(["state", id]).stderr).toBe(
      `bunc: state of container ${id} is damaged (no state.json); delete --force removes what is left of it\n`,
    );
    const listed = JSON.parse(env.ok(["list", "--format", "json"])).find((e: { id: string }) => e.id === id);
    expect(listed.status).toBe("damaged");
    const again = env.bunc(["create", "--bundle", env.bundle(id, ["true"]), id]);
    expect(again.stderr).toBe(`bunc: container with id ${id} already exists\n`);
    env.ok(["delete", "--force", id]);
    expect(existsSync(join(env.root, id))).toBe(false);
  });
});

describe("cgroups on disk", () => {
  test("delete --force removes the container's cgroup directories on disk, also those its state does not list", async () => {
    const { id, pid, text } = running("ondisk");
    const state = JSON.parse(text);
    state.cgroup.dirs = state.cgroup.dirs.slice(1);
    writeFileSync(stateFile(id), JSON.stringify(state));
    env.ok(["delete", "--force", id]);
    expect(await gone(pid)).toBe(true);
    expectAllGone(id);
  });
});

describe("trust in the state", () => {
  /** A cgroup of the test's own with a process in it, standing for someone else's. */
  function decoy(): { dirs: string[]; pid: number; stop: () => Promise<void> } {
    const proc = Bun.spawn(["sleep", "100"]);
    const dirs = env.hierarchies().map((h) => `${h}${env.cgroupParent}/decoy-${proc.pid}`);
    for (const d of dirs) {
      mkdirSync(d, { recursive: true });
      for (const f of ["cpuset.cpus", "cpuset.mems"]) {
        if (existsSync(join(d, f))) writeFileSync(join(d, f), readFileSync(join(d, "..", f), "utf8"));
      }
      writeFileSync(join(d, "cgroup.procs"), String(proc.pid));
    }
    const stop = async () => {
      proc.kill(9);
      await proc.exited;
      for (const dir of dirs) rmdirSync(dir);
    };
    return { dirs, pid: proc.pid, stop };
  }

  test("a state naming a cgroup directory outside the container's path is refused by kill --all and delete", async () => {
    const { id, pid, text } = running("tamper");
    const d = decoy();
    try {
      const state = JSON.parse(readFileSync(stateFile(id), "utf8"));
      state.cgroup.dirs[0].dir = d.dirs[0];
      writeFileSync(stateFile(id), JSON.stringify(state));
      for (const args of [
        ["kill", "--all", id, "KILL"],
        ["delete", "--force", id],
      ]) {
        const r = env.bunc(args);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("which is not its cgroup path");
      }
      expect(alive(d.pid)).toBe(true);
      expect(alive(pid)).toBe(true);
    } finally {
      await d.stop();
      writeFileSync(stateFile(id), text);
      env.ok(["delete", "--force", id]);
    }
  });

  test("a state whose cgroup path was changed to another cgroup: its processes are left alone", async () => {
    const { id, pid } = running("repath");
    const d = decoy();
    try {
      const state = JSON.parse(readFileSync(stateFile(id), "utf8"));
      const path = `${env.cgroupParent}/decoy-${d.pid}`;
      state.cgroup.path = path;
      for (const x of state.cgroup.dirs) x.dir = x.dir.replace(`${env.cgroupParent}/${id}`, path);
      writeFileSync(stateFile(id), JSON.stringify(state));
      env.ok(["kill", "--all", id, "KILL"]);
      // Only the init it recorded is reached; the other cgroup's inode is not the one create made.
      expect(await gone(pid)).toBe(true);
      expect(alive(d.pid)).toBe(true);
      env.ok(["delete", "--force", id]);
      expect(alive(d.pid)).toBe(true);
      for (const dir of d.dirs) expect(existsSync(dir)).toBe(true);
    } finally {
      await d.stop();
      // The container's real cgroup, which the tampered state no longer named.
      for (const dir of env.cgroupDirs(id)) if (existsSync(dir)) rmdirSync(dir);
    }
  });
});

describe("many containers at once", () => {
  test("20 runs at once, sharing a parent cgroup nobody made yet, with two CPU hogs: all succeed, nothing left", async () => {
    const hogs = [0, 1].map(() => Bun.spawn(["sh", "-c", "while :; do :; done"]));
    try {
      const ids = Array.from({ length: 20 }, () => env.id("crowd"));
      const runs = ids.map((id) =>
        Bun.spawn(
          [
            BUNC,
            "--root",
            env.root,
            "run",
            "--bundle",
            env.bundle(id, ["true"], (c) => {
              c.linux!.cgroupsPath = `${env.cgroupParent}/shared/${id}`;
            }),
            id,
          ],
          { stdio: ["ignore", "ignore", "pipe"] },
        ),
      );
      const results = await Promise.all(
        runs.map(async (p) => ({ code: await p.exited, err: await new Response(p.stderr).text() })),
      );
      expect(results.filter((r) => r.code !== 0)).toEqual([]);
      for (const id of ids) expect(existsSync(join(env.root, id))).toBe(false);
      // The shared parent stays (others may be entering it); nothing below it does.
      for (const h of env.hierarchies()) {
        const shared = `${h}${env.cgroupParent}/shared`;
        expect(readdirSync(shared, { withFileTypes: true }).filter((e) => e.isDirectory())).toEqual([]);
        rmdirSync(shared);
      }
    } finally {
      for (const h of hogs) h.kill(9);
    }
  }, 60_000);
});
