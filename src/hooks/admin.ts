// `bunc hooks list` and `bunc hooks install`: what the plugin directory
// holds and would run for a bundle, and the hooks.d files of the plugins
// bundled in this binary.
import { chmodSync, mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNDLED } from "../../hooks/index.ts";
import type { Config, Hook } from "../oci/config.ts";
import { PLUGIN_STAGES } from "../oci/hooksd.ts";
import { DEFAULT_HOOKS_DIR, type Plugin } from "./plugins.ts";
import { selectHooks } from "./select.ts";

const command = (h: Hook) => [h.path, ...(h.args ?? [h.path]).slice(1)].join(" ");

/** The plugins, and for a config the hooks of each stage in the order they run. */
export function listHooks(plugins: readonly Plugin[], config?: Config): string {
  const lines: string[] = [];
  if (plugins.length === 0) lines.push("no plugins installed");
  for (const p of plugins) {
    lines.push(
      p.file,
      `  runs ${command(p.hook)}`,
      `  at ${p.stages.join(", ")}`,
      `  when ${JSON.stringify(p.when)}`,
    );
  }
  if (config) {
    const plan = selectHooks(config, plugins);
    lines.push("", "for this bundle:");
    for (const stage of PLUGIN_STAGES) {
      const hooks = plan[stage] ?? [];
      lines.push(`  ${stage}:${hooks.length ? "" : " nothing"}`);
      for (const h of hooks)
        lines.push(`    ${command(h)}${h.plugin ? `  (${h.plugin})` : "  (config.json)"}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Writes NN-bunc-NAME.json for each bundled plugin, running this binary; returns the files. */
export function installBundled(names: readonly string[], dir = DEFAULT_HOOKS_DIR): string[] {
  for (const name of names) {
    if (!Object.hasOwn(BUNDLED, name))
      throw new Error(
        `no bundled plugin ${JSON.stringify(name)} (there is: ${Object.keys(BUNDLED).join(", ")})`,
      );
  }
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const self = realpathSync(process.execPath);
  return names.map((name) => {
    const file = join(dir, `50-bunc-${name}.json`);
    const entry = {
      version: "1.0.0",
      hook: { path: self, args: ["bunc", "hook", name] },
      when: BUNDLED[name]?.when ?? { always: true },
      stages: BUNDLED[name]?.stages ?? [],
    };
    writeFileSync(file, `${JSON.stringify(entry, null, 2)}\n`, { mode: 0o644 });
    // Not subject to our umask: a group-writable file would be refused.
    chmodSync(file, 0o644);
    return file;
  });
}
