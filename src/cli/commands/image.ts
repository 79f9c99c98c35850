import { writeSync } from "node:fs";
import { defineCommand } from "citty";
import { cachedLayers, layerUsers, prune } from "../../../hooks/unpack/cache.ts";
import { rejectUnknownFlags, store } from "../command.ts";
import { table } from "../table.ts";

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

const ls = defineCommand({
  meta: {
    name: "ls",
    description: "the layers the unpack plugin keeps: digest, size, containers using them",
  },
  args: { quiet: { type: "boolean", alias: "q", description: "the layers' cache keys only" } },
  run(ctx) {
    rejectUnknownFlags(ctx);
    const s = store();
    const layers = cachedLayers(s.root);
    if (ctx.args.quiet) {
      writeSync(1, layers.map((l) => `${l.key}\n`).join(""));
      return;
    }
    const users = layerUsers(s.root);
    const rows = layers.map((l) => [
      l.diffId,
      mib(l.size),
      l.unpacked,
      (users.get(l.key) ?? []).join(",") || "-",
    ]);
    writeSync(1, table(["LAYER", "SIZE", "UNPACKED", "CONTAINERS"], rows));
  },
});

const pruneCmd = defineCommand({
  meta: { name: "prune", description: "remove the cached layers no container uses" },
  run(ctx) {
    rejectUnknownFlags(ctx);
    const s = store();
    const inUse = new Set(layerUsers(s.root).keys());
    for (const key of prune(s.root, inUse)) writeSync(1, `removed ${key}\n`);
  },
});

export default defineCommand({
  meta: { name: "image", description: "the unpack plugin's layer cache: ls, prune" },
  subCommands: { ls, prune: pruneCmd },
});
