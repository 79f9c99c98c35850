import { writeSync } from "node:fs";
import { defineCommand } from "citty";
import { BUNDLED } from "../../../hooks/index.ts";
import { installBundled, listHooks } from "../../hooks/admin.ts";
import { loadPlugins } from "../../hooks/plugins.ts";
import { readConfig } from "../../lifecycle/bundle.ts";
import { rejectUnknownFlags } from "../command.ts";
import { globals } from "../options.ts";

const list = defineCommand({
  meta: { name: "list", description: "the plugins installed, and with --bundle what runs at each stage" },
  args: {
    bundle: { type: "string", alias: "b", description: "a bundle whose config to match the plugins against" },
  },
  run(ctx) {
    rejectUnknownFlags(ctx);
    const bundle = ctx.args.bundle;
    writeSync(
      1,
      listHooks(loadPlugins(globals.hooksDirs), bundle === undefined ? undefined : readConfig(bundle)),
    );
  },
});

const install = defineCommand({
  meta: {
    name: "install",
    description: `write the hooks.d files of bundled plugins (${Object.keys(BUNDLED).join(", ")})`,
  },
  args: {
    dir: { type: "string", description: "the hooks directory (default /etc/bunc/hooks.d)" },
    names: { type: "positional", description: "bundled plugins", required: true },
  },
  run(ctx) {
    rejectUnknownFlags(ctx);
    const names = ctx.args._.length ? ctx.args._ : [ctx.args.names];
    for (const file of installBundled(names, ctx.args.dir)) writeSync(1, `${file}\n`);
  },
});

export default defineCommand({
  meta: { name: "hooks", description: "the plugin directory: list, install" },
  subCommands: { list, install },
});
