// Which hooks run at each stage for a container: the config's own, then the
// plugins that match it, in file-name order. A plugin whose path and args
// the config already holds (podman injects its hooks.d entries itself) does
// not run twice, and the annotation bunc.hooks=none turns plugins off.
import type { Config, Hook } from "../oci/config.ts";
import { PLUGIN_STAGES, type PluginStage } from "../oci/hooksd.ts";
import { ConfigError } from "../oci/errors.ts";
import { containerStageRefusal, matches, type Plugin } from "./plugins.ts";

/** A hook to run, and the hooks.d file it came from when it is a plugin's. */
export type StageHook = Hook & { readonly plugin?: string };
export type HookPlan = Partial<Record<PluginStage, StageHook[]>>;

const OPT_OUT_ANNOTATION = "bunc.hooks";

const key = (h: Hook) => JSON.stringify([h.path, h.args ?? [h.path]]);

export function selectHooks(config: Config, plugins: readonly Plugin[]): HookPlan {
  // createContainer paths are the host's (startContainer's are the container's own).
  (config.hooks?.createContainer ?? []).forEach((h, i) => {
    const refusal = containerStageRefusal("createContainer", h.path, false);
    if (refusal) throw new ConfigError(`hooks.createContainer[${i}].path`, refusal);
  });
  const own = new Set(Object.values(config.hooks ?? {}).flatMap((list) => (list ?? []).map(key)));
  const usePlugins = config.annotations?.[OPT_OUT_ANNOTATION] !== "none";
  const plan: HookPlan = {};
  for (const stage of PLUGIN_STAGES) {
    const list: StageHook[] = stage === "precreate" ? [] : [...(config.hooks?.[stage] ?? [])];
    if (usePlugins) {
      for (const p of plugins) {
        if (p.stages.includes(stage) && !own.has(key(p.hook)) && matches(p, config))
          list.push({ ...p.hook, plugin: p.file });
      }
    }
    if (list.length) plan[stage] = list;
  }
  return plan;
}
