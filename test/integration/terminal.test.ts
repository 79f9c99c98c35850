// A terminal without a console socket: `run` and `exec` in the foreground
// relay the caller's terminal to the container's pty. Driven from a real
// pty (python3 makes it and is the "user"): the caller's terminal goes raw
// and comes back, a window size change reaches the container, typed input
// arrives, and a signal to bunc reaches the container's process.
import { describe, expect, test } from "bun:test";
import { BUNC, useTestEnv } from "./harness.ts";

const env = useTestEnv();

// The container's side: its size, each line typed with the size then, and
// TERM caught once armed.
const SCRIPT = [
  'echo "size:$(stty size)"',
  'while read l; do echo "got:$l:$(stty size)"; [ "$l" = done ] && break; done',
  "trap 'echo term; exit 9' TERM",
  "echo armed",
  "while :; do sleep 0.1; done",
].join("; ");

// The user at the terminal: sizes it 24x80, starts bunc as the session's
// foreground, resizes to 40x100, types until the new size is seen, sends
// TERM, and reports what happened as JSON.
const USER = `
import fcntl, json, os, pty, select, signal, struct, sys, termios, time
m, s = pty.openpty()
fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(s, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(s, fd)
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
def until(marker, secs=10):
    global out
    end = time.time() + secs
    while marker not in out and time.time() < end:
        r, _, _ = select.select([m], [], [], 0.1)
        if r:
            try:
                out += os.read(m, 4096)
            except OSError:
                break
    return marker in out
report = {"first": until(b"size:24 80")}
report["rawDuring"] = not (termios.tcgetattr(s)[3] & (termios.ICANON | termios.ECHO))
fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
seen = False
for _ in range(25):
    os.write(m, b"x\\r")
    if until(b"got:x:40 100", 0.2):
        seen = True
        break
report["resized"] = seen
os.write(m, b"done\\r")
report["armed"] = until(b"armed")
os.kill(pid, signal.SIGTERM)
report["term"] = until(b"term")
_, status = os.waitpid(pid, 0)
report["exit"] = os.waitstatus_to_exitcode(status)
report["rawAfter"] = not (termios.tcgetattr(s)[3] & termios.ICANON)
print(json.dumps(report))
`;

function asUser(args: readonly string[]): Record<string, unknown> {
  const r = Bun.spawnSync(["python3", "-c", USER, BUNC, "--root", env.root, ...args], {
    stderr: "pipe",
    timeout: 60_000,
  });
  const text = r.stdout.toString();
  if (!text.trim()) throw new Error(`the terminal user reported nothing: ${r.stderr.toString()}`);
  return JSON.parse(text);
}

const EXPECTED = {
  first: true,
  rawDuring: true,
  resized: true,
  armed: true,
  term: true,
  exit: 9,
  rawAfter: false,
};

describe("a terminal relayed in the foreground", () => {
  test("run: raw mode, window size, input, a signal, the exit code; the terminal restored", () => {
    const id = env.id("tty");
    const bundle = env.bundle(id, ["sh", "-c", SCRIPT], (c) => {
      c.process.terminal = true;
    });
    expect(asUser(["run", "--bundle", bundle, id])).toEqual(EXPECTED);
    expect(env.bunc(["state", id]).code).not.toBe(0);
  }, 30_000);

  test("exec -t: the same, for a process in a running container", () => {
    const id = env.id("tty");
    env.ok(["run", "-d", "--bundle", env.bundle(id, ["sleep", "1000"]), id]);
    try {
      expect(asUser(["exec", "-t", id, "sh", "-c", SCRIPT])).toEqual(EXPECTED);
    } finally {
      env.ok(["delete", "--force", id]);
    }
  }, 30_000);
});
