// exec on real containers: the process joins the container's namespaces,
// cgroup and security settings, runc's flags shape it, its exit status is
// exec's; and from inside, the CVE classes a runtime's exec has had.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../src/oci/config.ts";
import { consoleReceiver, useTestEnv } from "./harness.ts";

const env = useTestEnv();

const made: string[] = [];
afterEach(() => {
  for (const id of made.splice(0)) env.bunc(["delete", "--force", id]);
});

function running(edit?: (c: Config) => void): { id: string; pid: number } {
  const id = env.id("ex");
  env.ok(["create", "--bundle", env.bundle(id, ["sleep", "1000"], edit), id]);
  made.push(id);
  env.ok(["start", id]);
  return { id, pid: env.state(id).pid };
}

const NAMESPACES = ["mnt", "pid", "net", "ipc", "uts", "cgroup"];

describe("exec", () => {
  test("the process is in every namespace and the cgroup of the container; its exit status is exec's", () => {
    const { id, pid } = running();
    const script = `${NAMESPACES.map((n) => `readlink /proc/self/ns/${n}`).join("; ")}; cat /proc/self/cgroup; exit 7`;
    const r = env.bunc(["exec", id, "sh", "-c", script]);
    expect(r.code).toBe(7);
    const lines = r.stdout.trim().split("\n");
    NAMESPACES.forEach((n, i) => {
      expect(lines[i]).toBe(readlinkSync(`/proc/${pid}/ns/${n}`));
    });
    // Inside its cgroup namespace, every hierarchy shows the container's own cgroup as /.
    for (const l of lines.slice(NAMESPACES.length)) expect(l).toMatch(/:\/$/);
  });

  test("runc's flags: --user, --additional-gids, --env, --cwd, --cap, --no-new-privs", () => {
    const { id } = running();
    const out = env.ok([
      "exec",
      ...["-u", "65534:65534", "-g", "10,20", "-e", "FOO=bar", "--cwd", "/tmp", "--cap", "CAP_SYS_ADMIN"],
      "--no-new-privs",
      id,
      "sh",
      "-c",
      "id -u; id -g; id -G; echo $FOO; pwd; grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status",
    ]);
    const [uid, gid, groups, foo, cwd, capBnd, nnp] = out.trim().split("\n");
    expect([uid, gid, foo, cwd]).toEqual(["65534", "65534", "bar", "/tmp"]);
    expect(groups?.split(" ").sort()).toEqual(["10", "20", "65534"]);
    // CAP_SYS_ADMIN is bit 21.
    expect(BigInt(`0x${capBnd?.split(/\s+/)[1]}`) & (1n << 21n)).toBe(1n << 21n);
    expect(nnp).toBe("NoNewPrivs:\t1");
  });

  test("--process takes a process.json; its rlimits, oomScoreAdj and the container's seccomp apply", () => {
    const { id } = running((c) => {
      c.linux = {
        ...c.linux,
        seccomp: {
          defaultAction: "SCMP_ACT_ALLOW",
          syscalls: [{ names: ["mknod"], action: "SCMP_ACT_ERRNO" }],
        },
      };
    });
    const process = {
      args: ["sh", "-c", "ulimit -n; grep ^Seccomp: /proc/self/status; cat /proc/self/oom_score_adj; exit 3"],
      cwd: "/",
      env: ["PATH=/bin:/usr/bin"],
      user: { uid: 0, gid: 0 },
      rlimits: [{ type: "RLIMIT_NOFILE", soft: 77, hard: 77 }],
      oomScoreAdj: 500,
    };
    const file = join(env.dir, `${id}-process.json`);
    writeFileSync(file, JSON.stringify(process));
    const r = env.bunc(["exec", "--process", file, id]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("77\nSeccomp:\t2\n500\n");
    const stdin = env.bunc(["exec", "--process", "-", id], {
      stdin: JSON.stringify({ ...process, args: ["true"] }),
    });
    expect(stdin.code).toBe(0);
    const bad = env.bunc(["exec", "--process", "-", id], {
      stdin: JSON.stringify({ ...process, cwd: "relative" }),
    });
    expect(bad.stderr).toBe("bunc: process.cwd: must be an absolute path\n");
  });

  test("--detach with --pid-file leaves the process running in the container", async () => {
    const { id } = running();
    const pidFile = join(env.dir, `${id}.pid`);
    env.ok(["exec", "-d", "--pid-file", pidFile, id, "sleep", "999"]);
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toBe("sleep\x00999\x00");
    expect(JSON.parse(env.ok(["ps", "--format", "json", id]))).toContain(pid);
  });

  test("a paused container: refused, or with --ignore-paused the process waits frozen until resume", async () => {
    const { id } = running();
    env.ok(["pause", id]);
    const r = env.bunc(["exec", id, "true"]);
    expect(r.stderr).toBe(
      `bunc: cannot exec in container ${id}: it is paused (resume it, or --ignore-paused)\n`,
    );
    const pidFile = join(env.dir, `${id}.pid`);
    env.ok(["exec", "--ignore-paused", "-d", "--pid-file", pidFile, id, "sleep", "998"]);
    const pid = Number(readFileSync(pidFile, "utf8"));
    const freezer = `/sys/fs/cgroup/freezer${env.cgroupParent}/${id}`;
    expect(readFileSync(`${freezer}/cgroup.procs`, "utf8").split("\n")).toContain(String(pid));
    env.ok(["resume", id]);
    // Thawed, it runs on into its sleep (v1's freezer shows a frozen task as D).
    const state = () => /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    for (let i = 0; i < 200 && state() !== "S"; i++) await Bun.sleep(5);
    expect(state()).toBe("S");
  });

  test("errors name what failed; a stopped container cannot be exec'd into", async () => {
    const { id } = running();
    expect(env.bunc(["exec", id, "nosuchprogram"]).stderr).toBe(
      "bunc: process.args[0]: execve nosuchprogram: No such file or directory\n",
    );
    expect(env.bunc(["exec", "--tty", "-d", id, "true"]).stderr).toBe(
      "bunc: --tty: a detached process needs --console-socket for its terminal\n",
    );
    expect(env.bunc(["exec", "--preserve-fds", "2", id, "true"]).stderr).toStartWith(
      "bunc: --preserve-fds: fd 3 ",
    );
    expect(env.bunc(["exec", "--bogus", id, "true"]).stderr).toBe("bunc: unknown flag --bogus\n");
    env.ok(["kill", id, "KILL"]);
    await env.waitStatus(id, "stopped");
    expect(env.bunc(["exec", id, "true"]).stderr).toBe(
      `bunc: cannot exec in container ${id}: it is stopped\n`,
    );
  });

  test("--preserve-fds passes the caller's fds on", () => {
    const { id } = running();
    const file = join(env.dir, `${id}-fd`);
    writeFileSync(file, "through fd 3\n");
    const r = Bun.spawnSync(
      [
        "sh",
        "-c",
        `exec 3<"${file}"; exec "$0" --root "$1" exec --preserve-fds 1 "$2" sh -c 'cat <&3'`,
        ...[BUNC_PATH, env.root, id],
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString()).toBe("through fd 3\n");
  });
});

const BUNC_PATH = join(import.meta.dir, "../../dist/bunc");

describe("exec from inside: the CVE classes", () => {
  test("--cwd cannot reach the host through any fd the runtime holds (CVE-2024-21626 class)", () => {
    const { id } = running();
    for (let fd = 3; fd < 40; fd++) {
      const r = env.bunc(["exec", "--cwd", `/proc/self/fd/${fd}`, id, "pwd"]);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe("");
    }
  });

  test("nothing of bunc is open in the process, and its binary is not reachable for writing", () => {
    const { id } = running();
    const out = env.ok([
      "exec",
      id,
      "sh",
      "-c",
      "ls -l /proc/self/fd/ | grep -c -- '->'; ls /proc/*/exe 2>/dev/null | wc -l",
    ]);
    // stdio and ls's own directory.
    expect(out.trim().split("\n")[0]).toBe("4");
    // The container's processes are its init and the exec'd one (and its children): none of them bunc.
    const exes = env.ok(["exec", id, "sh", "-c", "for p in /proc/[0-9]*; do readlink $p/exe; done"]);
    expect(exes).not.toContain("bunc");
    expect(existsSync(BUNC_PATH)).toBe(true);
  });
});

describe.skipIf(Bun.which("python3") === null)("exec --tty --console-socket", () => {
  test("the pty comes from the container's devpts, has the size asked for, is the controlling terminal; its master goes to the socket", async () => {
    const { id } = running();
    const sock = join(env.dir, `${id}.sock`);
    const receiver = await consoleReceiver(sock, "", "END");
    const process = {
      terminal: true,
      consoleSize: { height: 40, width: 100 },
      args: ["sh", "-c", "tty; ps -o tty= -p $$; stty size; echo END"],
      cwd: "/",
      env: ["PATH=/bin:/usr/bin"],
      user: { uid: 0, gid: 0 },
    };
    env.ok(["exec", "-d", "--console-socket", sock, "--process", "-", id], {
      stdin: JSON.stringify(process),
    });
    const out = (await receiver.output).replace(/^isatty True\n/, "");
    const [tty, ctty, size] = out.split(/\r?\n/);
    expect(tty).toMatch(/^\/dev\/pts\/\d+$/);
    expect(ctty?.trim()).toBe(tty?.replace("/dev/", ""));
    expect(size).toBe("40 100");
  });
});
