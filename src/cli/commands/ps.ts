import { writeSync } from "node:fs";
import { defineCommand } from "citty";
import { containerPids, filterPsOutput, hostPs } from "../../lifecycle/ps.ts";
import { checkId } from "../../lifecycle/id.ts";
import { rejectUnknownFlags, store } from "../command.ts";

/**
 * runc stops parsing flags at the container id: the arguments before it are
 * bunc's (--format), every one after it goes to ps, flags included
 * (`bunc ps ID -o pid,comm`, `bunc ps ID aux`); a "--" before or right after
 * the id is dropped (`bunc ps ID -- -o pid`). citty parses them all as flags
 * of ps, so they are split here from the raw arguments.
 */
export function splitPsArgs(raw: readonly string[]): {
  own: string[];
  id: string | undefined;
  psArgs: string[];
} {
  const own: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const arg = raw[i] ?? "";
    if (arg === "--" || !arg.startsWith("-") || arg === "-") {
      const at = arg === "--" ? i + 1 : i;
      const rest = raw.slice(at + 1);
      return { own, id: raw[at], psArgs: rest[0] === "--" ? rest.slice(1) : rest };
    }
    own.push(arg);
    if (arg === "--format" || arg === "-f") own.push(raw[++i] ?? "");
  }
  return { own, id: undefined, psArgs: [] };
}

/** The value of the last --format/-f among bunc's own arguments. */
function formatOf(own: readonly string[]): string {
  let format = "table";
  for (let i = 0; i < own.length; i++) {
    const arg = own[i] ?? "";
    const m = /^(?:--format|-f)(?:=(.*))?$/.exec(arg);
    if (m) format = m[1] ?? own[++i] ?? "";
  }
  return format;
}

export default defineCommand({
  meta: {
    name: "ps",
    description: "list the processes of a container; options after the id go to ps",
  },
  args: {
    format: { type: "string", alias: "f", default: "table", description: "table or json" },
    id: {
      type: "positional",
      description: "container id; the arguments after it are options for ps",
      required: true,
    },
  },
  run(ctx) {
    const { own, id, psArgs } = splitPsArgs(ctx.rawArgs);
    rejectUnknownFlags({ rawArgs: own, cmd: ctx.cmd });
    const format = formatOf(own);
    if (format !== "table" && format !== "json")
      throw new Error(`--format: must be table or json, not ${format}`);
    const pids = containerPids(store(), checkId(id));
    if (format === "json") writeSync(1, `${JSON.stringify(pids)}\n`);
    else writeSync(1, filterPsOutput(hostPs(psArgs), pids));
  },
});
