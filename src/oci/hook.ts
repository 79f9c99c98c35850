// A hook entry (config.json's hooks, hooks.d files, the state's later
// stages), apart from the config's schema: the verbs that read only a
// container's state (state, start, kill, delete) need this and not the rest.
import * as v from "valibot";
import { absPath, stringList } from "./fields.ts";

export const Hook = v.object({
  path: absPath,
  args: v.optional(stringList),
  env: v.optional(stringList),
  timeout: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
});
export type Hook = v.InferOutput<typeof Hook>;

/** The runtime-spec's hook stages, in the order a container meets them. */
export const HOOK_STAGES = [
  "prestart",
  "createRuntime",
  "createContainer",
  "startContainer",
  "poststart",
  "poststop",
] as const;
