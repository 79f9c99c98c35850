import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { defineCommand } from "citty";
import { connectConsoleSocket } from "../../launch/console.ts";
import { execInContainer, parseProcess } from "../../lifecycle/exec.ts";
import { passedFds } from "../../lifecycle/passFds.ts";
import { checkId } from "../../lifecycle/id.ts";
import { store } from "../command.ts";
import { type FlagDef, isOn, lastOf, parseFlags } from "../flagParser.ts";
import { globals } from "../options.ts";

/** runc exec's flags. */
export const FLAGS: readonly FlagDef[] = [
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

export default defineCommand({
  meta: {
    name: "exec",
    description:
      "run a process in a container: ID COMMAND [ARGS...], or --process FILE|-; flags before the id (runc's: -t -d -e -u -g -c --cwd --pid-file --console-socket --preserve-fds --cgroup --no-new-privs --apparmor --process-label --ignore-paused)",
  },
  args: { id: { type: "positional", description: "container id, then the command", required: true } },
  async run(ctx) {
    // Flags stop at the container id, as runc's do: what follows is the command and its own flags.
    const p = parseFlags(ctx.rawArgs, FLAGS, true);
    const id = checkId(p.positional);
    const source = lastOf(p, "process");
    if (source !== undefined && p.args.length)
      throw new Error("--process: give either a process.json or a command, not both");
    // Before anything is opened: the range must hold only the caller's fds.
    const passed = passedFds(lastOf(p, "preserve-fds"), false);
    const socket = lastOf(p, "console-socket");
    const pidFile = lastOf(p, "pid-file");
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
      tty: isOn(p, "tty"),
      cwd: lastOf(p, "cwd"),
      env: p.flags.get("env"),
      user: lastOf(p, "user"),
      additionalGids: p.flags.get("additional-gids")?.flatMap((g) => g.split(",")),
      caps: p.flags.get("cap"),
      noNewPrivs: isOn(p, "no-new-privs"),
      apparmor: lastOf(p, "apparmor"),
      processLabel: lastOf(p, "process-label"),
      detach: isOn(p, "detach"),
      pidFile: pidFile === undefined ? undefined : posix.resolve(pidFile),
      consoleSocket: socket === undefined ? undefined : connectConsoleSocket(socket),
      preserveFds: passed.total,
      cgroup: p.flags.get("cgroup")?.at(-1),
      ignorePaused: isOn(p, "ignore-paused"),
      cacheRoot: globals.root,
    });
  },
});
