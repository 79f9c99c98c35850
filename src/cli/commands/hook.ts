import { readFileSync } from "node:fs";
import { defineCommand } from "citty";
import { globals } from "../options.ts";
import { BUNDLED, type HookStateJson, splitHookArgs, stageOfStatus } from "../../../hooks/index.ts";
import { PLUGIN_STAGES, type PluginStage } from "../../oci/hooksd.ts";

/** The state a hook reads on stdin, checked for what a plugin relies on. */
function readState(): HookStateJson {
  let state: unknown;
  try {
    state = JSON.parse(readFileSync(0, "utf8"));
  } catch (e) {
    throw new Error(`the state on stdin is not JSON: ${(e as Error).message}`);
  }
  const s = state as Partial<HookStateJson> | null;
  if (typeof s?.id !== "string" || typeof s.status !== "string")
    throw new Error("the state on stdin has no id and status: bunc hook runs as an OCI hook");
  return s as HookStateJson;
}

export default defineCommand({
  meta: {
    name: "hook",
    description: `run a plugin bundled in bunc as an OCI hook, the state on stdin: NAME [STAGE] [OPTIONS...] (${Object.keys(BUNDLED).join(", ")})`,
  },
  args: {
    name: { type: "positional", description: "the bundled plugin", required: true },
  },
  async run(ctx) {
    // Everything after the name belongs to the plugin: options are not bunc's.
    const [name = "", ...rest] = ctx.rawArgs;
    const entry = Object.hasOwn(BUNDLED, name) ? BUNDLED[name] : undefined;
    if (!entry)
      throw new Error(
        `no bundled plugin ${JSON.stringify(name)} (there is: ${Object.keys(BUNDLED).join(", ")})`,
      );
    const { stage, options } = splitHookArgs(rest);
    if (stage !== undefined && !(PLUGIN_STAGES as readonly string[]).includes(stage))
      throw new Error(`${JSON.stringify(stage)} is not a hook stage (${PLUGIN_STAGES.join(", ")})`);
    const state = readState();
    const plugin = await entry.load();
    await plugin.run(
      (stage as PluginStage | undefined) ?? stageOfStatus(state.status),
      state,
      options,
      undefined,
      {
        root: globals.root,
      },
    );
  },
});
