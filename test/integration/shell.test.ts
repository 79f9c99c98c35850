// Shell mode, as a provisioning script uses it: `bunc run --rootfs DIR
// [FLAGS] -- CMD`, each flag checked from inside the container, streams,
// exit codes and signals, cleanup whatever ends the command, parallel runs.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import * as tar from "tar";
import { join } from "node:path";
import { defaultSpec } from "../../src/oci/default.ts";
import { parseConfig } from "../../src/oci/validate.ts";
import { tarOf, writeLayout } from "../fixtures/images.ts";
import { PrivateNetns } from "./engines.ts";
import { BUNC, useTestEnv } from "./harness.ts";

const env = useTestEnv();
setDefaultTimeout(30_000);

/** The argv of bunc run in shell mode, cgroups below the test's parent. */
const shellArgv = (flags: readonly string[], cmd: readonly string[]) => [
  ...[BUNC, "--root", env.root, "run", "--rootfs", env.rootfs, "--cgroup-parent", env.cgroupParent],
  ...flags,
  "--",
  ...cmd,
];

/** bunc run in shell mode; stdin as given (none by default). */
function shell(flags: string[], cmd: string[], stdin?: string | Buffer) {
  const r = Bun.spawnSync(shellArgv(flags, cmd), {
    stdin: stdin === undefined ? "ignore" : Buffer.from(stdin),
    cwd: env.dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME_VAR: "from-host" },
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString(), raw: r.stdout };
}

const sh = (script: string) => ["sh", "-c", script];

function expectNothingLeft(): void {
  expect(readdirSync(env.root).filter((e) => !e.startsWith("."))).toEqual([]);
  for (const h of env.hierarchies()) {
    const parent = `${h}${env.cgroupParent}`;
    let children: string[] = [];
    try {
      children = readdirSync(parent, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      // No cgroup made in this hierarchy.
    }
    expect(children).toEqual([]);
  }
}

describe("bunc run --rootfs", () => {
  test("streams as a pipe does; binary data unchanged; stdin closed; the command's exit code", () => {
    expect(shell([], ["cat"], "x\n").stdout).toBe("x\n");
    const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 256));
    const r = shell([], ["cat"], data);
    expect(Buffer.compare(r.raw, data)).toBe(0);
    expect(shell([], ["cat"]).stdout).toBe("");
    expect(shell([], sh("echo out; echo err >&2; exit 7"))).toMatchObject({
      code: 7,
      stdout: "out\n",
      stderr: "err\n",
    });
    const pipeline = Bun.spawnSync([
      "sh",
      "-c",
      `echo x | "$0" --root "$1" run --rootfs "$2" --cgroup-parent "$3" -- cat | wc -c`,
      BUNC,
      env.root,
      env.rootfs,
      env.cgroupParent,
    ]);
    expect(pipeline.stdout.toString().trim()).toBe("2");
    expectNothingLeft();
  });

  test("each flag, seen from inside", () => {
    const envFile = join(env.dir, "vars");
    writeFileSync(envFile, "# a comment\nFROM_FILE=1\n");
    const vol = join(env.dir, "vol");
    mkdirSync(vol, { recursive: true });
    writeFileSync(join(vol, "f"), "host data\n");
    const r = shell(
      [
        ...["-e", "A=b", "-e", "HOME_VAR", "--env-file", envFile],
        ...[
          "-v",
          `${vol}:/data:ro`,
          "-v",
          `${vol}:/rw`,
          "-w",
          "/data",
          "-u",
          "1000:1001",
          "--hostname",
          "box",
        ],
        ...["--read-only", "--tmpfs", "/scratch", "-m", "64m", "--pids-limit", "30", "--cpus", "0.5"],
        ...["--cap-drop", "ALL", "--cap-add", "chown", "--name", "shell-flags"],
      ],
      sh(
        [
          "echo $A $HOME_VAR $FROM_FILE",
          "pwd; id -u; id -g; hostname; cat /data/f",
          "touch /data/x 2>/dev/null && echo data-rw || echo data-ro",
          "touch /x 2>/dev/null && echo root-rw || echo root-ro",
          "touch /scratch/x && echo scratch-rw",
          "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us",
          "grep CapBnd /proc/self/status",
          "grep -c eth0 /proc/net/dev",
        ].join("; "),
      ),
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual([
      "b from-host 1",
      "/data",
      "1000",
      "1001",
      "box",
      "host data",
      "data-ro",
      "root-ro",
      "scratch-rw",
      String(64 << 20),
      "30",
      "50000",
      "CapBnd:\t0000000000000001",
      "0",
      "",
    ]);
    expect(shell(["--network", "host"], sh("grep -c : /proc/net/dev")).stdout.trim()).not.toBe("3");
    expect(shell(["-u", "nobody"], ["id", "-un"]).stdout).toBe("nobody\n");
    expectNothingLeft();
  });

  test("--tmpfs DST:OPTIONS mounts at DST with those options", () => {
    const r = shell(
      ["--tmpfs", "/scratch:size=1m,mode=700"],
      sh("stat -c %a /scratch; grep ' /scratch ' /proc/self/mountinfo | grep -o 'size=[0-9]*k'"),
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("700\nsize=1024k\n");
    expectNothingLeft();
  });

  test("--rootfs / --read-only: the host's root and tools, nothing of it writable, nothing left", () => {
    const r = Bun.spawnSync(
      [
        BUNC,
        "--root",
        env.root,
        "run",
        "--rootfs",
        "/",
        "--read-only",
        "--cgroup-parent",
        env.cgroupParent,
        "--",
        "sh",
        "-c",
        "ls /usr/bin | grep -c .; for d in / /etc /tmp /home; do touch $d/.bunc-probe 2>/dev/null && rm $d/.bunc-probe && echo $d writable; done; echo $$",
      ],
      { stdin: "ignore" },
    );
    expect(r.stderr.toString()).toBe("");
    const [tools, pid] = r.stdout.toString().trim().split("\n");
    expect(Number(tools)).toBeGreaterThan(50);
    expect(pid).toBe("1");
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain("host-root");
    expectNothingLeft();
  });

  test("exec in a shell-mode container uses the config it was made from, not a config.json where it was run", () => {
    const decoy = defaultSpec();
    decoy.process.env = ["FOO=decoy"];
    writeFileSync(join(env.dir, "config.json"), JSON.stringify(decoy));
    try {
      expect(shell(["-d", "--name", "shell-exec", "-e", "FOO=flag"], ["sleep", "100"]).stdout).toBe(
        "shell-exec\n",
      );
      expect(env.ok(["exec", "shell-exec", "sh", "-c", "echo $FOO"])).toBe("flag\n");
      env.ok(["delete", "--force", "shell-exec"]);
    } finally {
      rmSync(join(env.dir, "config.json"));
    }
    expectNothingLeft();
  });

  test("a root of / with shared propagation: the host's tree reaches the host through no peer", () => {
    const id = env.id("shared");
    const bundle = env.bundle(id, ["sh", "-c", "ls /usr/bin | grep -c ."], (c) => {
      c.root = { path: "/", readonly: true };
      c.linux = { ...c.linux, rootfsPropagation: "shared" };
    });
    const r = env.bunc(["run", "--bundle", bundle, id]);
    expect(r.stderr).toBe("");
    expect(Number(r.stdout)).toBeGreaterThan(50);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain("host-root");
    expectNothingLeft();
  });

  test("--print-spec prints the config a bundle would hold; --detach prints the id; --keep keeps it", () => {
    const spec = shell(["--print-spec", "-m", "32m"], ["echo", "hi"]);
    const config = parseConfig(spec.stdout);
    expect(config.process.args).toEqual(["echo", "hi"]);
    expect(config.root.path).toBe(env.rootfs);
    expect(config.linux?.resources?.memory?.limit).toBe(32 << 20);
    expect(readdirSync(env.root).filter((e) => !e.startsWith("."))).toEqual([]);
    const detached = shell(["-d", "--name", "shell-bg"], ["sleep", "100"]);
    expect(detached.stdout).toBe("shell-bg\n");
    expect(env.state("shell-bg").status).toBe("running");
    env.ok(["delete", "--force", "shell-bg"]);
    expect(shell(["--keep", "--name", "shell-kept"], ["true"]).code).toBe(0);
    expect(env.state("shell-kept").status).toBe("stopped");
    env.ok(["delete", "shell-kept"]);
    expectNothingLeft();
  });

  test("-d: the container is kept, stopped, when its command ends; -d --rm is refused", async () => {
    expect(shell(["-d", "--name", "shell-bg-ends"], ["true"]).stdout).toBe("shell-bg-ends\n");
    await env.waitStatus("shell-bg-ends", "stopped");
    env.ok(["delete", "shell-bg-ends"]);
    const rm = shell(["-d", "--rm", "--name", "shell-bg-rm"], ["true"]);
    expect(rm.stderr).toBe(
      "bunc: --rm: a detached container is kept when it ends (bunc delete removes it); drop --rm or -d\n",
    );
    expect(rm.code).toBe(1);
    expectNothingLeft();
  });

  test("bad flags: one line naming the flag, nothing made", () => {
    for (const [flags, message] of [
      [["--memory", "lots"], '--memory: "lots" is not a size'],
      [["--network", "wifi"], '--network: "wifi" is not none, host or bridge'],
      [["--cap-add", "FLY"], '--cap-add: "FLY" is no capability'],
      [["-v", "nocolon"], '--volume: "nocolon" is not SRC:DST[:ro]'],
      [["--bogus"], "unknown flag --bogus"],
    ] as const) {
      const r = shell([...flags], ["true"]);
      expect(r.stderr).toStartWith(`bunc: ${message}`);
      expect(r.stderr.split("\n").length).toBe(2);
      expect(r.code).not.toBe(0);
    }
    const noCmd = Bun.spawnSync([BUNC, "--root", env.root, "run", "--rootfs", env.rootfs]);
    expect(noCmd.stderr.toString()).toBe("bunc: --rootfs: give the command to run after --\n");
    expectNothingLeft();
  });

  test("a command ended by TERM, INT or KILL, and bunc itself sent TERM, INT or HUP: nothing is left", async () => {
    const background = (name: string, script: string) => {
      const p = Bun.spawn(shellArgv(["--name", name], ["sh", "-c", script]), { stdout: "pipe" });
      return { p, up: p.stdout.getReader().read() };
    };
    // The command is the container's pid 1: it ends on a signal it has a handler for, or on KILL.
    const TRAP = "trap 'exit 5' TERM INT HUP; echo up; sleep 30 & wait";
    for (const sig of ["TERM", "INT", "KILL"]) {
      const { p, up } = background(`sig-${sig}`, TRAP);
      await up;
      env.ok(["kill", `sig-${sig}`, sig]);
      expect(await p.exited).toBe(sig === "KILL" ? 137 : 5);
    }
    for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
      const { p, up } = background(`bunc-${sig}`, TRAP);
      await up;
      // bunc passes it on to the command, which ends; bunc removes the container.
      p.kill(sig);
      expect(await p.exited).toBe(5);
    }
    expectNothingLeft();
  });

  test("20 runs at once", async () => {
    const runs = Array.from({ length: 20 }, (_, i) =>
      Bun.spawn(shellArgv([], ["sh", "-c", `echo run-${i}`]), { stdout: "pipe", stderr: "pipe" }),
    );
    const out = await Promise.all(
      runs.map(
        async (p) =>
          `${await new Response(p.stdout).text()}${await new Response(p.stderr).text()}${await p.exited}`,
      ),
    );
    expect(out).toEqual(Array.from({ length: 20 }, (_, i) => `run-${i}\n0`));
    expectNothingLeft();
  });
});

test("the usage of shell mode", () => {
  const r = Bun.spawnSync([BUNC, "run", "--rootfs", "/x", "--help"]);
  expect(r.stdout.toString()).toStartWith("bunc run --rootfs DIR [FLAGS] -- CMD [ARGS...]\n");
});

test("-h and --help are help among a verb's own flags only, not among the command's", () => {
  const id = env.id("help");
  env.ok(["run", "-d", "--bundle", env.bundle(id, ["sleep", "100"]), id]);
  try {
    expect(env.bunc(["exec", id, "grep", "-h", "^root:", "/etc/passwd"]).stdout).toStartWith("root:");
    expect(env.bunc(["exec", "--cwd", "/", id, "printf", "%s\\n", "--help"]).stdout).toBe("--help\n");
    expect(shell([], ["echo", "-h"]).stdout).toBe("-h\n");
    for (const args of [
      ["exec", "-h"],
      ["exec", "--cwd", "/", "--help", id],
      ["state", id, "-h"],
    ])
      expect(env.bunc(args).stdout).toContain(`bunc ${args[0]}`);
  } finally {
    env.ok(["delete", "--force", id]);
  }
  expectNothingLeft();
});

describe("bunc run --image, --network bridge", () => {
  test("an image's root and config, the bundled plugins brought along without a hooks directory", () => {
    const file = join(env.dir, "base.tar");
    tar.c({ sync: true, file, cwd: env.rootfs }, ["."]);
    const image = join(env.dir, "image");
    writeLayout(image, [
      {
        layers: [readFileSync(file), tarOf([{ path: "from-image", body: "yes" }])],
        config: { Env: ["PATH=/bin:/usr/bin", "X=image"], Cmd: ["sh", "-c", "cat /from-image; echo $X"] },
      },
    ]);
    const run = (args: string[]) =>
      Bun.spawnSync([
        BUNC,
        "--root",
        env.root,
        "run",
        "--image",
        image,
        "--cgroup-parent",
        env.cgroupParent,
        ...args,
      ]);
    expect(run([]).stdout.toString()).toBe("yesimage\n");
    expect(run(["-e", "X=flag", "--", "sh", "-c", "echo $X"]).stdout.toString()).toBe("flag\n");
    expectNothingLeft();
    expect(readdirSync(join(env.root, ".images", "containers"))).toEqual([]);
  });

  test("--network bridge gets eth0 and an address, in the test's own network namespace", () => {
    const netns = new PrivateNetns(env.dir);
    try {
      const r = Bun.spawnSync(
        netns.wrap(
          shellArgv(
            ["--network", "bridge"],
            ["sh", "-c", "cat /sys/class/net/eth0/operstate; grep -c 10.77 /proc/net/fib_trie"],
          ),
        ),
      );
      expect(r.stderr.toString()).toBe("");
      expect(r.stdout.toString().split("\n")[0]).toBe("up");
    } finally {
      netns.remove();
    }
    expectNothingLeft();
  });
});

describe("what goes with shell mode", () => {
  test("the README's provisioning examples run as written", () => {
    const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
    const block = readme.split("<!-- shell-examples")[1]?.split("```sh\n")[1]?.split("```")[0] ?? "";
    const lines = block.split("\n").filter((l) => l.startsWith("bunc "));
    expect(lines).toHaveLength(3);
    const dir = join(env.dir, "examples");
    mkdirSync(join(dir, "src"), { recursive: true });
    mkdirSync(join(dir, "out"));
    writeFileSync(join(dir, "src", "a"), "part a\n");
    writeFileSync(join(dir, "src", "b"), "part b\n");
    symlinkSync(env.rootfs, join(dir, "rootfs"));
    const outputs = lines.map((line) => {
      // bunc is this build, with the test's state root and cgroup parent.
      const script = `bunc() { "${BUNC}" --root "${env.root}" "$1" --cgroup-parent "${env.cgroupParent}" "\${@:2}"; }; ${line}`;
      const r = Bun.spawnSync(["bash", "-c", script], { cwd: dir });
      expect(r.stderr.toString()).toBe("");
      expect(r.exitCode).toBe(0);
      return r.stdout.toString();
    });
    expect(readFileSync(join(dir, "out", "bundle.txt"), "utf8")).toBe("part a\npart b\n");
    expect(outputs[1]).toBe(`1\n${64 << 20}\n`);
    expect(outputs[2]).toBe("1\nread-only\n");
    expectNothingLeft();
  });

  test("bunc spec takes shell mode's flags, and --rootless", () => {
    const dir = join(env.dir, "spec");
    mkdirSync(dir);
    env.ok(["spec", "--bundle", dir, "-m", "64m", "-e", "A=1", "--network", "host", "--", "echo", "hi"]);
    const c = parseConfig(readFileSync(join(dir, "config.json"), "utf8"));
    expect(c.process.args).toEqual(["echo", "hi"]);
    expect(c.root.path).toBe("rootfs");
    expect(c.linux?.resources?.memory?.limit).toBe(64 << 20);
    expect(c.linux?.namespaces?.map((n) => n.type)).not.toContain("network");
    expect(env.bunc(["spec", "--bundle", dir]).stderr).toBe(
      `bunc: ${dir}/config.json exists; remove it first\n`,
    );
    rmSync(join(dir, "config.json"));
    env.ok(["spec", "--bundle", dir, "--rootless"]);
    const r = parseConfig(readFileSync(join(dir, "config.json"), "utf8"));
    expect(r.linux?.namespaces?.map((n) => n.type)).toEqual(["pid", "ipc", "uts", "mount", "user"]);
    expect(r.linux?.uidMappings).toEqual([{ containerID: 0, hostID: 0, size: 1 }]);
  });

  test("bunc spec: --rootfs is root.path, from the current directory; a config.json link, even dangling, is refused", () => {
    const dir = join(env.dir, "spec-rootfs");
    mkdirSync(dir);
    expect(env.bunc(["spec", "--bundle", dir, "--rootfs", "roots/a"], { cwd: env.dir }).stderr).toBe("");
    const c = parseConfig(readFileSync(join(dir, "config.json"), "utf8"));
    expect(c.root.path).toBe(join(env.dir, "roots/a"));
    expect(c.process.args).toEqual(["sh"]);
    rmSync(join(dir, "config.json"));
    const target = join(env.dir, "spec-target");
    symlinkSync(target, join(dir, "config.json"));
    const r = env.bunc(["spec", "--bundle", dir]);
    expect(r.stderr).toBe(`bunc: ${dir}/config.json exists; remove it first\n`);
    expect(r.code).toBe(1);
    expect(existsSync(target)).toBe(false);
  });

  test("bunc completion: bash completes verbs and each verb's flags; zsh and fish scripts", () => {
    const complete = (words: string[]) => {
      const script = `source <("${BUNC}" completion bash); COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _bunc; echo "\${COMPREPLY[@]}"`;
      return Bun.spawnSync(["bash", "-c", script]).stdout.toString().trim();
    };
    expect(complete(["bunc", "ex"])).toBe("exec");
    expect(complete(["bunc", "run", "--rootf"])).toBe("--rootfs");
    expect(complete(["bunc", "exec", "--preserve"])).toBe("--preserve-fds");
    expect(complete(["bunc", "hooks", ""])).toBe("list install");
    expect(env.ok(["completion", "zsh"])).toStartWith("autoload -U +X bashcompinit && bashcompinit\n");
    expect(env.ok(["completion", "fish"])).toContain(
      'complete -c bunc -n "__fish_seen_subcommand_from run" -l rootfs',
    );
    expect(env.bunc(["completion", "tcsh"]).stderr).toBe(
      'bunc: completion: "tcsh" is not bash, zsh or fish\n',
    );
  });

  test("messages are coloured on a terminal only, and never with NO_COLOR", () => {
    const inTerminal = (env: Record<string, string>) =>
      Bun.spawnSync(["script", "-qec", `"${BUNC}" state no-such-container`, "/dev/null"], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TERM: "xterm", ...env },
      }).stdout.toString();
    expect(inTerminal({})).toContain("\x1b[31mbunc:\x1b[0m container no-such-container does not exist");
    expect(inTerminal({ NO_COLOR: "1" })).toContain("bunc: container no-such-container does not exist");
    expect(inTerminal({ NO_COLOR: "1" })).not.toContain("\x1b[");
    expect(env.bunc(["state", "no-such-container"]).stderr).toBe(
      "bunc: container no-such-container does not exist\n",
    );
  });
});
