// Flags before a command, as runc exec and docker run take them: each one
// from a table ([name, short alias, takes a value, may repeat]); `--`, or
// with `positional` the first word that is no flag, ends them.

export type FlagDef = readonly [name: string, alias: string | null, valued: boolean, repeats: boolean];

export interface ParsedFlags {
  readonly flags: Map<string, string[]>;
  /** The first word after the flags (exec's container id), when `positional`. */
  readonly positional: string | undefined;
  /** What follows: the command and its own arguments. */
  readonly args: string[];
}

export function parseFlags(
  raw: readonly string[],
  table: readonly FlagDef[],
  positional: boolean,
): ParsedFlags {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < raw.length; i++) {
    const arg = raw[i] ?? "";
    if (arg === "--")
      return positional
        ? { flags, positional: raw[i + 1], args: raw.slice(i + 2) }
        : { flags, positional: undefined, args: raw.slice(i + 1) };
    if (!arg.startsWith("-") || arg === "-") {
      if (positional) return { flags, positional: arg, args: raw.slice(i + 1) };
      throw new Error(`${JSON.stringify(arg)}: the command goes after --`);
    }
    const eq = arg.indexOf("=");
    const name = arg.replace(/^--?/, "").slice(0, eq < 0 ? undefined : eq - (arg.startsWith("--") ? 2 : 1));
    const def = table.find(([long, short]) => (arg.startsWith("--") ? long === name : short === name));
    if (!def) throw new Error(`unknown flag ${arg.startsWith("--") ? `--${name}` : `-${name}`}`);
    const [long, , valued, repeats] = def;
    let value = "true";
    if (valued) {
      const v = eq >= 0 ? arg.slice(eq + 1) : raw[++i];
      if (v === undefined) throw new Error(`--${long} needs a value`);
      value = v;
    } else if (eq >= 0) value = arg.slice(eq + 1);
    const list = flags.get(long) ?? [];
    if (list.length && !repeats) list.length = 0;
    list.push(value);
    flags.set(long, list);
  }
  return { flags, positional: undefined, args: [] };
}

export const lastOf = (p: ParsedFlags, name: string) => p.flags.get(name)?.at(-1);
export const isOn = (p: ParsedFlags, name: string) => {
  const v = lastOf(p, name);
  return v !== undefined && v !== "false";
};
