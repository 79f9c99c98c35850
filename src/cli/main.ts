import { writeSync } from "node:fs";
// The command line: runc's global options, then a citty subcommand.
import { defineCommand, runCommand, showUsage } from "citty";
import { commands } from "./commands/index.ts";
import { debug, setDebugSink } from "../debug.ts";
import { logDebug, logError } from "./log.ts";
import { globals, takeGlobals } from "./options.ts";
import { versionText } from "./version.ts";

const main = defineCommand({
  meta: {
    name: "bunc",
    description:
      "an OCI container runtime. Global options, before the command: --root DIR (default /run/bunc), --log FILE, --log-format text|json, --debug",
  },
  subCommands: commands,
});

export async function cli(argv: readonly string[]): Promise<void> {
  try {
    const rest = takeGlobals(argv);
    if (globals.debug) setDebugSink(logDebug);
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
    if (rest.includes("--help") || rest.includes("-h")) {
      await showUsage(await sub(), main);
      return;
    }
    debug(`bunc ${verb}`);
    await runCommand(main, { rawArgs: [...rest] });
  } catch (e) {
    logError((e as Error).message);
    process.exitCode = 1;
  }
  // Output is written synchronously; skip the runtime's teardown.
  process.exit();
}
