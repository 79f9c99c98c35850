// The command line: runc's global options, then a citty subcommand. Every
// failure ends as one line on stderr (and in --log) and a non-zero exit; a
// fault in bunc itself says what was being done, and --debug adds its stack.
import { writeSync } from "node:fs";
import { defineCommand, runCommand, showUsage } from "citty";
import { debug, setDiagSinks } from "../diag.ts";
import { errorLine, isInternal } from "../sys/errors.ts";
import { commands } from "./commands/index.ts";
import type { FlagDef } from "./flagParser.ts";
import { isShellMode } from "./shellMode.ts";
import { logDebug, logError, logWarning } from "./log.ts";
import { globals, takeGlobals } from "./options.ts";
import { versionText } from "./version.ts";

const main = defineCommand({
  meta: {
    name: "bunc",
    description:
      "an OCI container runtime. Global options, before the command: --root DIR (default /run/bunc; for other users $XDG_RUNTIME_DIR/bunc), --rootless true|false|auto, --log FILE, --log-format text|json, --debug, --hooks-dir DIR (repeatable; after /etc/bunc/hooks.d)",
  },
  subCommands: commands,
});

/**
 * The verbs that pass the words after their first positional on (exec's
 * command, ps's options, a hook plugin's), with the flags of their own
 * before it.
 */
const PASS_ON = new Map<string, () => Promise<readonly FlagDef[]>>([
  ["exec", async () => (await import("./commands/exec.ts")).FLAGS],
  ["ps", async () => [["format", "f", true, false]]],
  ["hook", async () => []],
]);

/**
 * Whether -h/--help is one of the verb's own flags: not after `--`, nor
 * after the first positional of a verb above (`bunc exec ID grep -h x`
 * runs grep -h).
 */
async function asksHelp(verb: string, args: readonly string[]): Promise<boolean> {
  const isHelp = (a: string) => a === "--help" || a === "-h";
  const end = args.indexOf("--");
  const own = end < 0 ? args : args.slice(0, end);
  const table = await PASS_ON.get(verb)?.();
  if (table === undefined) return own.some(isHelp);
  for (let i = 0; i < own.length; i++) {
    const a = own[i] ?? "";
    if (isHelp(a)) return true;
    if (!a.startsWith("-") || a === "-") return false;
    // A flag's value is no positional.
    if (table.find(([long, short]) => a === `--${long}` || (short !== null && a === `-${short}`))?.[2]) i++;
  }
  return false;
}

export async function cli(argv: readonly string[]): Promise<void> {
  let rest: string[] = [];
  try {
    rest = takeGlobals(argv);
    setDiagSinks({ warn: logWarning, ...(globals.debug ? { debug: logDebug } : {}) });
    const verb = rest[0];
    if (verb === "--version" || verb === "-v") {
      writeSync(1, versionText());
      return;
    }
    if (verb === undefined || verb === "--help" || verb === "-h" || verb === "help") {
      await showUsage(main);
      return;
    }
    const sub = (commands as Record<string, () => Promise<Parameters<typeof showUsage>[0]>>)[verb];
    if (!sub) throw new Error(`unknown command ${JSON.stringify(verb)}; see bunc --help`);
    // Shell mode's run finds its own --help, among its flags.
    if (!(verb === "run" && isShellMode(rest.slice(1))) && (await asksHelp(verb, rest.slice(1)))) {
      await showUsage(await sub(), main);
      return;
    }
    debug(`bunc ${verb}`);
    // Shell mode's `run` takes docker-like flags and no container id: not citty's to parse.
    if (verb === "run" && isShellMode(rest.slice(1))) {
      const { shellRun } = await import("./shell.ts");
      process.exitCode = await shellRun(rest.slice(1));
    } else await runCommand(main, { rawArgs: [...rest] });
  } catch (e) {
    const doing = isInternal(e) ? `${rest.filter((a) => !a.startsWith("-")).join(" ") || "bunc"}: ` : "";
    logError(`${doing}${errorLine(e)}`);
    if (globals.debug && e instanceof Error && e.stack) logDebug(e.stack);
    process.exitCode = 1;
  }
  // Output is written synchronously; skip the runtime's teardown.
  process.exit();
}
