// `bunc hooks list` and `bunc hooks install`: what the plugin directory
// holds and would run for a bundle, and the hooks.d files of the plugins
// bundled in this binary.
import { chmodSync, mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNDLED } from "../../hooks/index.ts";
import type { Config, Hook } from "../oci/config.ts";
import { type HooksdFile, PLUGIN_STAGES, type PluginStage } from "../oci/hooksd.ts";
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

/** The hooks.d entry of a bundled plugin: this very binary's `hook NAME`, called in-process. */
export function bundledEntry(name: string): {
  hook: { path: string; args: string[] };
  when: HooksdFile["when"];
  stages: PluginStage[];
} {
  const entry = Object.hasOwn(BUNDLED, name) ? BUNDLED[name] : undefined;
  if (!entry)
    throw new Error(
      `no bundled plugin ${JSON.stringify(name)} (there is: ${Object.keys(BUNDLED).join(", ")})`,
    );
  return {
    hook: { path: realpathSync(process.execPath), args: ["bunc", "hook", name] },
    when: entry.when ?? { always: true },
    stages: [...entry.stages],
  };
}

/** A bundled plugin as if installed, for one command (shell mode's --image, --network bridge). */
export const bundledPlugin = (name: string): Plugin => ({ file: `(bundled ${name})`, ...bundledEntry(name) });

/** Writes NN-bunc-NAME.json for each bundled plugin, running this binary; returns the files. */
export function installBundled(names: readonly string[], dir = DEFAULT_HOOKS_DIR): string[] {
  const entries = names.map((name) => ({ name, ...bundledEntry(name) }));
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return entries.map(({ name, hook, when, stages }) => {
    const file = join(dir, `50-bunc-${name}.json`);
    writeFileSync(file, `${JSON.stringify({ version: "1.0.0", hook, when, stages }, null, 2)}\n`, {
      mode: 0o644,
    });
    // Not subject to our umask: a group-writable file would be refused.
    chmodSync(file, 0o644);
    return file;
  });
}
