import { writeSync } from "node:fs";
import { defineCommand } from "citty";
import { features } from "../../plan/features.ts";
import { rejectUnknownFlags } from "../command.ts";

export default defineCommand({
  meta: { name: "features", description: "print the runtime-spec features document: what bunc accepts" },
  run(ctx) {
    rejectUnknownFlags(ctx);
    writeSync(1, `${JSON.stringify(features(), null, 2)}\n`);
  },
});
