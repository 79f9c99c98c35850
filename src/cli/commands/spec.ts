import { existsSync, writeFileSync } from "node:fs";
import { defineCommand } from "citty";
import { defaultSpec } from "../../oci/default.ts";
import { rejectUnknownFlags } from "../command.ts";

export default defineCommand({
  meta: { name: "spec", description: "write a starter config.json for a bundle" },
  args: {
    bundle: {
      type: "string",
      alias: "b",
      default: ".",
      description: "bundle directory to write config.json in",
    },
    rootless: { type: "boolean", description: "not supported yet" },
  },
  run(ctx) {
    rejectUnknownFlags(ctx);
    if (ctx.args.rootless) throw new Error("--rootless: rootless containers are not supported by bunc yet");
    const path = `${ctx.args.bundle}/config.json`;
    if (existsSync(path)) throw new Error(`${path} exists; remove it first`);
    writeFileSync(path, `${JSON.stringify(defaultSpec(), null, "\t")}\n`);
  },
});
