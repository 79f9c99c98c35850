// Shared pieces of the subcommands: strict flag checking (runc refuses
// unknown flags; citty would ignore them), the store and the id argument.
import type { ArgsDef } from "citty";
import { checkId } from "../lifecycle/id.ts";
import { Store } from "../lifecycle/store.ts";
import { globals } from "./options.ts";

export const idArg = { id: { type: "positional", description: "container id", required: true } } as const;

export function rejectUnknownFlags(ctx: {
  readonly rawArgs: readonly string[];
  readonly cmd: { readonly args?: unknown };
}): void {
  const defs = (ctx.cmd.args ?? {}) as ArgsDef;
  const known = new Set<string>();
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === "positional") continue;
    known.add(name);
    if (def.type === "boolean") known.add(`no-${name}`);
    const alias = "alias" in def ? def.alias : undefined;
    for (const a of alias === undefined ? [] : Array.isArray(alias) ? alias : [alias]) known.add(a);
  }
  for (const raw of ctx.rawArgs) {
    if (raw === "--") break;
    if (!raw.startsWith("-") || raw === "-") continue;
    const name = raw.replace(/^--?/, "").split("=")[0] ?? "";
    // Short flags may be bundled (-fq).
    const names = raw.startsWith("--") ? [name] : [...name];
    for (const n of names)
      if (!known.has(n)) throw new Error(`unknown flag ${raw.startsWith("--") ? `--${n}` : `-${n}`}`);
  }
}

export function store(): Store {
  return new Store(globals.root);
}

export function idOf(args: { id?: unknown }): string {
  return checkId(typeof args.id === "string" ? args.id : undefined);
}
