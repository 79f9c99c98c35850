// The oci-hooks.d 1.0.0 file format (containers/common pkg/hooks, as podman
// and CRI-O read it): one hook, when it applies, and at which stages.
import * as v from "valibot";
import { HOOK_STAGES, Hook } from "./hook.ts";

/** The spec's stages and podman's extension stage, which rewrites the config before create. */
export const PLUGIN_STAGES = [...HOOK_STAGES, "precreate"] as const;
export type PluginStage = (typeof PLUGIN_STAGES)[number];

const regex = v.pipe(
  v.string(),
  v.check((s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  }, "is not a valid regular expression"),
);

export const HooksdFile = v.object({
  version: v.literal("1.0.0", 'must be "1.0.0" (the only oci-hooks.d version bunc reads)'),
  hook: Hook,
  when: v.pipe(
    v.object({
      always: v.optional(v.boolean()),
      annotations: v.optional(v.record(regex, regex)),
      commands: v.optional(v.array(regex)),
      hasBindMounts: v.optional(v.boolean()),
    }),
    v.check(
      (w) => Object.values(w).some((x) => x !== undefined),
      "must set at least one of always, annotations, commands, hasBindMounts",
    ),
  ),
  stages: v.pipe(v.array(v.picklist(PLUGIN_STAGES)), v.minLength(1, "must name at least one stage")),
});

export type HooksdFile = v.InferOutput<typeof HooksdFile>;
