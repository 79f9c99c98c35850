// NOTIFY_SOCKET: what a container's process says with sd_notify reaches the
// caller's socket through bunc's relay, and `start` (and `run -d`) return
// only once the process has said READY=1, as with runc.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { Config } from "../../src/oci/config.ts";
import { BUNC, useTestEnv } from "./harness.ts";

const env = useTestEnv();
let sender = "";

// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET.
const SENDER_C = `
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(int argc, char **argv) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || argc < 2) return 2;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strncpy(a.sun_path, path, sizeof a.sun_path - 1);
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  return sendto(fd, argv[1], strlen(argv[1]), 0, (struct sockaddr *)&a, sizeof a) < 0;
}
`;

/** The caller's notify socket: every datagram it gets, one per line of `got()`, "|" for newlines. */
function hostSocket(path: string): { proc: Subprocess; got: () => string[] } {
  // An abstract name (@...) is no path: its log goes to the test's directory.
  const log = join(env.dir, `${path.replace(/[^\w.-]/g, "_")}.log`);
  writeFileSync(log, "");
  const proc = Bun.spawn(
    [
      "python3",
      "-c",
      `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1].replace("@", "\\0", 1) if sys.argv[1].startswith("@") else sys.argv[1])
print("bound", flush=True)
while True:
    m = s.recv(8192).decode()
    with open(sys.argv[2], "a") as f:
        f.write(m.replace("\\n", "|") + "\\n")
`,
      path,
      log,
    ],
    { stdout: "pipe" },
  );
  return { proc, got: () => readFileSync(log, "utf8").split("\n").filter(Boolean) };
}

async function bound(proc: Subprocess): Promise<void> {
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const { value } = await reader.read();
  if (!new TextDecoder().decode(value).includes("bound")) throw new Error("the notify socket did not bind");
}

const withSender = (c: Config) => {
  c.mounts = [
    ...(c.mounts ?? []),
    { destination: "/sd-notify", type: "bind", source: sender, options: ["bind", "ro"] },
  ];
};

describe("NOTIFY_SOCKET", () => {
  const sockets: Subprocess[] = [];
  beforeAll(() => {
    const src = join(env.dir, "sd-notify.c");
    writeFileSync(src, SENDER_C);
    sender = join(env.dir, "sd-notify");
    const cc = Bun.spawnSync(["cc", "-static", "-O2", "-o", sender, src], { stderr: "pipe" });
    if (cc.exitCode !== 0) throw new Error(`cc: ${cc.stderr.toString()}`);
  });
  afterAll(() => {
    for (const p of sockets) p.kill();
  });

  async function socketAt(path: string) {
    const s = hostSocket(path);
    sockets.push(s.proc);
    await bound(s.proc);
    return s;
  }

  test("start returns once READY=1 has been passed on, with MAINPID the process's host pid", async () => {
    const path = join(env.dir, "notify-1.sock");
    const host = await socketAt(path);
    const id = env.id("n");
    const script =
      "echo $NOTIFY_SOCKET; /sd-notify STATUS=warming; sleep 0.5; /sd-notify 'READY=1\nSTATUS=serving\nMAINPID=1'; touch /run/notify/x 2>/dev/null || echo read-only; sleep 100";
    const bundle = env.bundle(id, ["sh", "-c", script], withSender);
    const notifyEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", NOTIFY_SOCKET: path };
    const created = env.bunc(["create", "--bundle", bundle, id], { env: notifyEnv });
    expect(created.stderr).toBe("");
    expect(env.bunc(["start", id], { env: notifyEnv }).code).toBe(0);
    const pid = env.state(id).pid;
    // When start returns, the caller has READY=1 already; the container's own MAINPID is not passed on.
    expect(host.got()).toEqual(["STATUS=warming|", `READY=1|STATUS=serving|MAINPID=${pid}|`]);
    env.ok(["delete", "--force", id]);
  });

  test("run -d waits the same way; an abstract host socket works; the container's view", async () => {
    const path = `@bunc-notify-${process.pid}`;
    const host = await socketAt(path);
    const id = env.id("n");
    const bundle = env.bundle(
      id,
      ["sh", "-c", "echo $NOTIFY_SOCKET; /sd-notify READY=1; sleep 100"],
      withSender,
    );
    const r = env.bunc(["run", "-d", "--bundle", bundle, id], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NOTIFY_SOCKET: path },
    });
    expect(r.stderr).toBe("");
    expect(host.got()).toEqual([`READY=1|MAINPID=${env.state(id).pid}|`]);
    expect(r.stdout).toBe("/run/notify/notify.sock\n");
    const mount = env.ok([
      "exec",
      id,
      "sh",
      "-c",
      "grep ' /run/notify ' /proc/self/mountinfo | cut -d' ' -f6",
    ]);
    expect(mount.split(",")).toContain("ro");
    env.ok(["delete", "--force", id]);
  });

  test("a foreground run passes the caller's signals on while it waits for READY=1, and after", async () => {
    const path = join(env.dir, "notify-signals.sock");
    const host = await socketAt(path);
    const run = (id: string, script: string) =>
      Bun.spawn(
        [BUNC, "--root", env.root, "run", "--bundle", env.bundle(id, ["sh", "-c", script], withSender), id],
        {
          stdin: "ignore",
          stdout: "ignore",
          stderr: "pipe",
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NOTIFY_SOCKET: path },
        },
      );
    const received = async (prefix: string) => {
      for (let i = 0; i < 500; i++) {
        const line = host.got().find((l) => l.startsWith(prefix));
        if (line !== undefined) return line;
        await Bun.sleep(10);
      }
      throw new Error(`the host socket got no ${prefix}`);
    };
    // STATUS=b is relayed by a later round of the relay than the first: bunc waits for READY=1 by then.
    const waiting = env.id("n");
    const p = run(
      waiting,
      "trap 'exit 5' TERM; /sd-notify STATUS=a; sleep 0.3; /sd-notify STATUS=b; sleep 30 & wait",
    );
    await received("STATUS=b");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(5);
    expect(await new Response(p.stderr).text()).toBe("");
    expect(env.bunc(["state", waiting]).code).toBe(1);
    // After READY=1, waitForeground passes them on.
    const ready = env.id("n");
    const q = run(ready, "trap 'exit 6' INT; /sd-notify READY=1; sleep 30 & wait");
    expect(await received("READY=1")).toBe(`READY=1|MAINPID=${env.state(ready).pid}|`);
    await Bun.sleep(100);
    q.kill("SIGINT");
    expect(await q.exited).toBe(6);
    expect(env.bunc(["state", ready]).code).toBe(1);
  });

  test("a caller's socket that no one listens on: one warning, the container runs, the wait ends", () => {
    const path = join(env.dir, "notify-stale.sock");
    // Bound, then left behind by its process: sending to it is refused.
    const bind = Bun.spawnSync([
      "python3",
      "-c",
      "import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(sys.argv[1])",
      path,
    ]);
    expect(bind.exitCode).toBe(0);
    const notifyEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", NOTIFY_SOCKET: path };
    const warning = `bunc: warning: NOTIFY_SOCKET: send to ${path}: Connection refused; no longer passing the container's notifications on\n`;
    const detached = env.id("n");
    const d = env.bunc(
      [
        "run",
        "-d",
        "--bundle",
        env.bundle(detached, ["sh", "-c", "/sd-notify READY=1; sleep 100"], withSender),
        detached,
      ],
      { env: notifyEnv },
    );
    expect(d).toEqual({ code: 0, stdout: "", stderr: warning });
    expect(env.state(detached).status).toBe("running");
    env.ok(["delete", "--force", detached]);
    const foreground = env.id("n");
    const script = "/sd-notify STATUS=starting; /sd-notify READY=1; echo done";
    const f = env.bunc(
      ["run", "--bundle", env.bundle(foreground, ["sh", "-c", script], withSender), foreground],
      {
        env: notifyEnv,
      },
    );
    expect(f).toEqual({ code: 0, stdout: "done\n", stderr: warning });
  });

  test("a process that exits without READY=1 ends the wait; without NOTIFY_SOCKET nothing is mounted", async () => {
    const path = join(env.dir, "notify-3.sock");
    const host = await socketAt(path);
    const id = env.id("n");
    const bundle = env.bundle(id, ["sh", "-c", "sleep 0.2"], withSender);
    const r = env.bunc(["run", "-d", "--bundle", bundle, id], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NOTIFY_SOCKET: path },
    });
    expect(r.code).toBe(0);
    expect(env.state(id).status).toBe("stopped");
    expect(host.got()).toEqual([]);
    env.ok(["delete", id]);
    const plain = env.bunc([
      "run",
      "--bundle",
      env.bundle(env.id("n"), [
        "sh",
        "-c",
        "echo [$NOTIFY_SOCKET]; grep -c ' /run/notify ' /proc/self/mountinfo",
      ]),
      env.id("n"),
    ]);
    expect(plain.stdout).toBe("[]\n0\n");
  });
});
