// Bundled plugin `log`: one JSON line per lifecycle event of a container
// (created, started, stopped with its exit status where bunc knows it and
// how long it lived), with the OCI state and the stage. It goes to the file
// the annotation bunc.log names, else to the plugin's --file, else to the
// journal or syslog when the host has one. consola carries each record to
// the reporter of that destination.
import { type ConsolaReporter, createConsola } from "consola";
import type { PluginStage } from "../../src/oci/hooksd.ts";
import type { BundledPlugin, HookStateJson } from "../index.ts";
import { appendRecord, type Rotation } from "./file.ts";
import { systemLog, toJournal, toSyslog } from "./socket.ts";

const LOG_ANNOTATION = "bunc.log";

interface Options extends Rotation {
  readonly file: string | undefined;
}

const EVENTS: Partial<Record<PluginStage, string>> = {
  prestart: "created",
  createRuntime: "created",
  poststart: "started",
  poststop: "stopped",
};

function parseOptions(args: readonly string[]): Options {
  let file: string | undefined;
  let maxSize = 10 << 20;
  let keep = 3;
  const number = (flag: string, text: string | undefined) => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new Error(`log plugin: ${flag} needs a whole number of at least 1`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--file") file = args[++i];
    else if (arg === "--max-size") maxSize = number(arg, args[++i]);
    else if (arg === "--keep") keep = number(arg, args[++i]);
    else
      throw new Error(`log plugin: unknown option ${arg} (it takes --file PATH, --max-size BYTES, --keep N)`);
  }
  if (file !== undefined && !file.startsWith("/"))
    throw new Error("log plugin: --file needs an absolute path");
  return { file, maxSize, keep };
}

export function record(stage: PluginStage, state: HookStateJson, now = new Date()): Record<string, unknown> {
  const lived = state.created ? now.getTime() - Date.parse(state.created) : undefined;
  return {
    time: now.toISOString(),
    event: EVENTS[stage] ?? stage,
    stage,
    id: state.id,
    ...(stage === "poststop" && state.exitStatus !== undefined ? { exitStatus: state.exitStatus } : {}),
    ...(stage === "poststop" && lived !== undefined && Number.isFinite(lived) ? { durationMs: lived } : {}),
    state,
  };
}

/** The reporter for where this container's records go. */
function reporterFor(state: HookStateJson, o: Options): ConsolaReporter {
  const named = state.annotations?.[LOG_ANNOTATION];
  if (named !== undefined && !named.startsWith("/"))
    throw new Error(
      `log plugin: the annotation ${LOG_ANNOTATION} must be an absolute path, not ${JSON.stringify(named)}`,
    );
  const file = named ?? o.file;
  if (file) return { log: (obj) => appendRecord(file, `${obj.args[0]}\n`, o) };
  const system = systemLog();
  if (system === "journal") return { log: (obj) => toJournal(String(obj.args[0]), state.id) };
  if (system === "syslog") return { log: (obj) => toSyslog(String(obj.args[0])) };
  throw new Error(
    `log plugin: nowhere to log container ${state.id}: no annotation ${LOG_ANNOTATION}, no --file, and neither the journal nor /dev/log`,
  );
}

const log: BundledPlugin = {
  run(stage, state, args) {
    const options = parseOptions(args);
    // No throttling: two containers' records may be alike, and each is one event.
    const logger = createConsola({ reporters: [reporterFor(state, options)], throttle: 0 });
    logger.info(JSON.stringify(record(stage, state)));
  },
};

export default log;
