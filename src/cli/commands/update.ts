import { readFileSync } from "node:fs";
import { defineCommand } from "citty";
import { updateContainer } from "../../lifecycle/update.ts";
import { Resources } from "../../oci/config.ts";
import { checked } from "../../oci/checked.ts";
import { parseExactJson } from "../../oci/exactJson.ts";
import { idArg, idOf, rejectUnknownFlags, store } from "../command.ts";
import { resourcesFromFlags, UPDATE_FLAGS } from "../updateFlags.ts";

/** --resources FILE or - (stdin): LinuxResources JSON, as containerd's shim and docker send it. */
function readResources(source: string): Resources {
  let raw: unknown;
  try {
    raw = parseExactJson(readFileSync(source === "-" ? 0 : source, "utf8"));
  } catch (e) {
    throw new Error(`--resources: ${source === "-" ? "stdin" : source}: ${(e as Error).message}`);
  }
  try {
    return checked(Resources, raw);
  } catch (e) {
    throw new Error(`--resources: ${(e as Error).message}`);
  }
}

export default defineCommand({
  meta: { name: "update", description: "change the resource limits of a container" },
  args: {
    ...idArg,
    resources: {
      type: "string",
      alias: "r",
      description: "linux.resources JSON from a file, or - for stdin; no other flag may be given with it",
    },
    ...UPDATE_FLAGS,
  },
  run(ctx) {
    rejectUnknownFlags(ctx);
    const args = ctx.args as Record<string, unknown>;
    const fromFlags = resourcesFromFlags(args);
    let change = fromFlags.resources;
    if (typeof args.resources === "string") {
      if (fromFlags.given.length > 0)
        throw new Error(
          `--resources cannot be combined with ${fromFlags.given.map((f) => `--${f}`).join(", ")}`,
        );
      change = readResources(args.resources);
    }
    updateContainer(store(), idOf(ctx.args), change);
  },
});
