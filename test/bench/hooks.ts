// The hook part of the benchmark: what one createRuntime hook adds to
// `bunc run` of /bin/true, run as a program (a tiny one, and bunc's log
// plugin started as `bunc hook log`) and in-process (the same plugin, named
// by a hooks.d entry, called without a second bunc).
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { must } from "./command.ts";
import { type Stat, fmtMs, stat, table } from "./stats.ts";

export const HOOK_CASES = [
  "no hook",
  "program: /bin/true",
  "log plugin, as a program",
  "log plugin, in-process",
] as const;
type HookCase = (typeof HOOK_CASES)[number];

export type HookSamples = Record<HookCase, number[]>;

export const emptyHookSamples = (): HookSamples =>
  Object.fromEntries(HOOK_CASES.map((c) => [c, []])) as unknown as HookSamples;

interface Bunc {
  readonly path: string;
  readonly root: string;
}

/** A bundle whose config gets the hook of the case (edit is applied to a copy of bundleFor's config). */
function withHook(bundle: string, c: HookCase, bunc: Bunc, log: string): string[] {
  const file = join(bundle, "config.json");
  const cfg = JSON.parse(readFileSync(file, "utf8"));
  cfg.annotations = { "bunc.log": log };
  if (c === "program: /bin/true") cfg.hooks = { createRuntime: [{ path: "/bin/true" }] };
  if (c === "log plugin, as a program")
    cfg.hooks = { createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", `exec ${bunc.path} hook log`] }] };
  writeFileSync(file, JSON.stringify(cfg));
  if (c !== "log plugin, in-process") return [];
  const dir = join(bundle, "hooks.d");
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  must([bunc.path, "hooks", "install", "--dir", dir, "log"]);
  return ["--hooks-dir", dir];
}

export function timeHooks(bunc: Bunc, bundleFor: (id: string) => string, i: number, s: HookSamples): void {
  for (const c of HOOK_CASES) {
    const id = `bunc-hook-${HOOK_CASES.indexOf(c)}-${i}`;
    const bundle = bundleFor(id);
    const flags = withHook(bundle, c, bunc, join(bundle, "life.jsonl"));
    s[c].push(must([bunc.path, "--root", bunc.root, ...flags, "run", "--bundle", bundle, id]).ms);
  }
}

export function printHooks(s: HookSamples): { stats: Record<HookCase, Stat | null>; text: string } {
  const stats = Object.fromEntries(HOOK_CASES.map((c) => [c, stat(s[c])])) as Record<HookCase, Stat | null>;
  const rows = [["bunc run of /bin/true with one createRuntime hook", "median", "p90"]];
  for (const c of HOOK_CASES) rows.push([c, fmtMs(stats[c]?.median), fmtMs(stats[c]?.p90)]);
  return { stats, text: table(rows) };
}
