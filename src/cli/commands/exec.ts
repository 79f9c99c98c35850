import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { defineCommand } from "citty";
import { connectConsoleSocket } from "../../launch/console.ts";
import { execInContainer, parseProcess } from "../../lifecycle/exec.ts";
import { passedFds } from "../../lifecycle/passFds.ts";
import { checkId } from "../../lifecycle/id.ts";
import { store } from "../command.ts";
import { globals } from "../options.ts";

/** runc exec's flags: [name, short alias, takes a value, may repeat]. */
const FLAGS: readonly (readonly [string, string | null, boolean, boolean])[] = [
  ["console-socket", null, true, false],
  ["cwd", null, true, false],
  ["env", "e", true, true],
  ["tty", "t", false, false],
  ["user", "u", true, false],
  ["additional-gids", "g", true, true],
  ["process", "p", true, false],
  ["detach", "d", false, false],
  ["pid-file", null, true, false],
  ["process-label", null, true, false],
  ["apparmor", null, true, false],
  ["no-new-privs", null, false, false],
  ["cap", "c", true, true],
  ["preserve-fds", null, true, false],
  ["cgroup", null, true, true],
  ["ignore-paused", null, false, false],
];

type Parsed = { flags: Map<string, string[]>; id: string | undefined; args: string[] };

/**
 * Flags stop at the container id, as runc's do: what follows is the
 * command and its own flags (`bunc exec -t ID sh -c 'ls -l'`).
 */
function parseExecArgs(raw: readonly string[]): Parsed {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < raw.length; i++) {
    const arg = raw[i] ?? "";
    if (arg === "--") return { flags, id: raw[i + 1], args: raw.slice(i + 2) };
    if (!arg.startsWith("-") || arg === "-") return { flags, id: arg, args: raw.slice(i + 1) };
    const eq = arg.indexOf("=");
    const name = arg.replace(/^--?/, "").slice(0, eq < 0 ? undefined : eq - (arg.startsWith("--") ? 2 : 1));
    const def = FLAGS.find(([long, short]) => (arg.startsWith("--") ? long === name : short === name));
    if (!def) throw new Error(`unknown flag ${arg.startsWith("--") ? `--${name}` : `-${name}`}`);
    const [long, , valued, repeats] = def;
    let value = "true";
    if (valued) {
      const v = eq >= 0 ? arg.slice(eq + 1) : raw[++i];
      if (v === undefined) throw new Error(`--${long} needs a value`);
      value = v;
    } else if (eq >= 0) value = arg.slice(eq + 1);
    const list = flags.get(long) ?? [];
    if (list.length && !repeats) list.length = 0;
    list.push(value);
    flags.set(long, list);
  }
  return { flags, id: undefined, args: [] };
}

const one = (p: Parsed, name: string) => p.flags.get(name)?.at(-1);
const on = (p: Parsed, name: string) => {
  const v = one(p, name);
  return v !== undefined && v !== "false";
};

export default defineCommand({
  meta: {
    name: "exec",
    description:
      "run a process in a container: ID COMMAND [ARGS...], or --process FILE|-; flags before the id (runc's: -t -d -e -u -g -c --cwd --pid-file --console-socket --preserve-fds --cgroup --no-new-privs --apparmor --process-label --ignore-paused)",
  },
  args: { id: { type: "positional", description: "container id, then the command", required: true } },
  async run(ctx) {
    const p = parseExecArgs(ctx.rawArgs);
    const id = checkId(p.id);
    const source = one(p, "process");
    if (source !== undefined && p.args.length)
      throw new Error("--process: give either a process.json or a command, not both");
    // Before anything is opened: the range must hold only the caller's fds.
    const passed = passedFds(one(p, "preserve-fds"), false);
    const socket = one(p, "console-socket");
    const pidFile = one(p, "pid-file");
    process.exitCode = await execInContainer(store(), {
      id,
      process:
        source === undefined
          ? undefined
          : parseProcess(
              readFileSync(source === "-" ? 0 : source, "utf8"),
              source === "-" ? "stdin" : source,
            ),
      args: p.args,
      tty: on(p, "tty"),
      cwd: one(p, "cwd"),
      env: p.flags.get("env"),
      user: one(p, "user"),
      additionalGids: p.flags.get("additional-gids")?.flatMap((g) => g.split(",")),
      caps: p.flags.get("cap"),
      noNewPrivs: on(p, "no-new-privs"),
      apparmor: one(p, "apparmor"),
      processLabel: one(p, "process-label"),
      detach: on(p, "detach"),
      pidFile: pidFile === undefined ? undefined : posix.resolve(pidFile),
      consoleSocket: socket === undefined ? undefined : connectConsoleSocket(socket),
      preserveFds: passed.total,
      cgroup: p.flags.get("cgroup")?.at(-1),
      ignorePaused: on(p, "ignore-paused"),
      cacheRoot: globals.root,
    });
  },
});
