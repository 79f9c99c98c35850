// Running one stage's hooks in the runtime (prestart, createRuntime,
// poststart, poststop, and podman's precreate): programs through the C
// runner; modules, and the plugins bundled in this binary, in-process. Hooks of a stage run in order; the first
// failure ends the stage, except at poststop, where it is a warning.
import { BUNDLED, type HookStateJson, type PluginResult, splitHookArgs } from "../../hooks/index.ts";
import { warn } from "../diag.ts";
import type { Config } from "../oci/config.ts";
import { parseExactJson, stringifyExact } from "../oci/exactJson.ts";
import type { PluginStage } from "../oci/hooksd.ts";
import { type HookSpec, hookFailure, runHookProcess } from "../sys/hookProcess.ts";
import { isModule, isSelf } from "./plugins.ts";
import type { StageHook } from "./select.ts";

class HookFailed extends Error {}

/** What an in-process plugin's function is called with. */
export type ModuleHook = (state: unknown, config: Config | undefined, stage: PluginStage) => unknown;

const label = (stage: string, h: StageHook) =>
  `${stage} hook ${h.path}${h.plugin ? ` (from ${h.plugin})` : ""}`;

/**
 * Calls an in-process hook. Its timeout ends the wait at the hook's next
 * await; code that never yields cannot be stopped from the same thread.
 */
async function callInProcess(stage: PluginStage, h: StageHook, call: () => unknown): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    if (h.timeout !== undefined)
      timer = setTimeout(
        () => reject(new HookFailed(`${label(stage, h)} ran past its timeout of ${h.timeout}s`)),
        h.timeout * 1000,
      );
  });
  try {
    return await Promise.race([Promise.resolve().then(call), timeout]);
  } catch (e) {
    if (e instanceof HookFailed) throw e;
    throw new HookFailed(`${label(stage, h)} failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** A module plugin: its export named after the stage, else its default export. */
async function runModule(
  stage: PluginStage,
  h: StageHook,
  state: unknown,
  config: Config | undefined,
): Promise<unknown> {
  const mod = (await import(h.path)) as Record<string, unknown>;
  const fn = mod[stage] ?? mod.default;
  if (typeof fn !== "function")
    throw new HookFailed(`${label(stage, h)}: the module exports neither ${stage} nor default`);
  return callInProcess(stage, h, () => (fn as ModuleHook)(state, config, stage));
}

/** An entry that runs a plugin bundled in this very binary (`bunc hook NAME ...`): called here, not started again. */
function bundledOf(h: StageHook): { name: string; options: string[] } | null {
  const args = h.args ?? [];
  const name = args[2];
  if (args[1] !== "hook" || name === undefined || !Object.hasOwn(BUNDLED, name) || !isSelf(h.path))
    return null;
  return { name, options: splitHookArgs(args.slice(3)).options };
}

function runProgram(stage: PluginStage, h: StageHook, input: string, cwd: string | null): string {
  let outcome: ReturnType<typeof runHookProcess>;
  try {
    outcome = runHookProcess(h as HookSpec, input, cwd);
  } catch (e) {
    throw new HookFailed(`${label(stage, h)} could not be run: ${(e as Error).message}`);
  }
  const failure = hookFailure(stage, h, outcome);
  if (failure) throw new HookFailed(h.plugin ? `${failure} (from ${h.plugin})` : failure);
  return outcome.stdout;
}

export interface StageContext {
  /** The hook's working directory: the bundle, as runc runs them. */
  readonly cwd: string;
  /** The runtime's state root, for the bundled plugins. */
  readonly root: string;
  /** The container's config, for in-process plugins, where the stage has it. */
  readonly config?: Config | undefined;
}

/**
 * Runs a stage's hooks with the state on stdin; the first failure throws
 * HookFailed. Returns the annotations bundled plugins handed back.
 */
export async function runStage(
  stage: PluginStage,
  hooks: readonly StageHook[] | undefined,
  state: object,
  ctx: StageContext,
): Promise<Record<string, string>> {
  const input = JSON.stringify(state);
  const annotations: Record<string, string> = {};
  for (const h of hooks ?? []) {
    const bundled = bundledOf(h);
    if (bundled) {
      const plugin = await BUNDLED[bundled.name]?.load();
      const result = (await callInProcess(stage, h, () =>
        plugin?.run(stage, state as HookStateJson, bundled.options, ctx.config, { root: ctx.root }),
      )) as PluginResult | undefined;
      Object.assign(annotations, result?.annotations);
    } else if (h.plugin && isModule(h.path)) await runModule(stage, h, state, ctx.config);
    else runProgram(stage, h, input, ctx.cwd);
  }
  return annotations;
}

/** poststop: every hook runs; a failure is a warning. */
export async function runStageWarning(
  stage: PluginStage,
  hooks: readonly StageHook[] | undefined,
  state: object,
  ctx: StageContext,
): Promise<void> {
  for (const h of hooks ?? []) {
    try {
      await runStage(stage, [h], state, ctx);
    } catch (e) {
      warn((e as Error).message);
    }
  }
}

/**
 * podman's precreate: each hook reads the config on stdin and prints the
 * config to use, which the next one reads. Returns the final text; the
 * caller validates it again. A bundled plugin is called in-process with the
 * container's id and bundle.
 */
export async function runPrecreate(
  hooks: readonly StageHook[] | undefined,
  configText: string,
  ctx: StageContext,
  state: HookStateJson,
): Promise<string> {
  let text = configText;
  for (const h of hooks ?? []) {
    const bundled = bundledOf(h);
    if (bundled) {
      const plugin = await BUNDLED[bundled.name]?.load();
      const config = parseExactJson(text) as Config;
      const result = (await callInProcess("precreate", h, () =>
        plugin?.run("precreate", state, bundled.options, config, { root: ctx.root }),
      )) as PluginResult | undefined;
      if (result?.config) text = stringifyExact(result.config);
    } else if (h.plugin && isModule(h.path)) {
      const result = await runModule("precreate", h, parseExactJson(text), ctx.config);
      text = typeof result === "string" ? result : stringifyExact(result);
    } else text = runProgram("precreate", h, text, ctx.cwd);
  }
  return text;
}
