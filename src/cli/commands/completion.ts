// `bunc completion bash|zsh|fish`: a completion script generated from the
// same command definitions `--help` shows (each verb's citty args, exec's
// and shell mode's flag tables), so it cannot drift from them.
import { writeSync } from "node:fs";
import { type ArgsDef, type CommandDef, defineCommand } from "citty";
import { rejectUnknownFlags } from "../command.ts";
import type { FlagDef } from "../flagParser.ts";
import { GLOBAL_FLAGS } from "../options.ts";
import { commands } from "./index.ts";

type Verbs = Map<string, string[]>;

const fromTable = (t: readonly FlagDef[]) =>
  t.flatMap(([name, alias]) => [`--${name}`, ...(alias ? [`-${alias}`] : [])]);

function fromArgs(args: ArgsDef | undefined): string[] {
  return Object.entries(args ?? {}).flatMap(([name, def]) => {
    if (def.type === "positional") return [];
    const aliases = "alias" in def && def.alias !== undefined ? [def.alias].flat() : [];
    return [`--${name}`, ...aliases.map((a) => (a.length === 1 ? `-${a}` : `--${a}`))];
  });
}

/** Every verb (and `hooks list` style subcommands as "hooks list") with its flags. */
async function verbs(): Promise<Verbs> {
  const out: Verbs = new Map();
  const { FLAGS: execFlags } = await import("./exec.ts");
  const { SHELL_FLAGS } = await import("../shell.ts");
  for (const [name, load] of Object.entries(commands)) {
    const cmd = (await load()) as CommandDef;
    const flags = new Set(fromArgs(cmd.args as ArgsDef));
    if (name === "exec") for (const f of fromTable(execFlags)) flags.add(f);
    if (name === "run") for (const f of fromTable(SHELL_FLAGS)) flags.add(f);
    out.set(name, [...flags]);
    for (const [sub, def] of Object.entries((cmd.subCommands ?? {}) as Record<string, CommandDef>))
      out.set(`${name} ${sub}`, fromArgs(def.args as ArgsDef));
  }
  return out;
}

function bash(v: Verbs): string {
  const top = [...v.keys()].filter((k) => !k.includes(" "));
  const cases = [...v]
    .filter(([k]) => !k.includes(" "))
    .map(([k, flags]) => {
      const subs = [...v.keys()].filter((s) => s.startsWith(`${k} `)).map((s) => s.split(" ")[1]);
      return `    ${k}) words="${[...subs, ...flags].join(" ")}" ;;`;
    });
  return `# bash completion for bunc (bunc completion bash)
_bunc() {
  local cur=\${COMP_WORDS[COMP_CWORD]} verb="" words w
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case $w in -*) ;; *) verb=$w; break ;; esac
  done
  case $verb in
    "") words="${[...top, ...GLOBAL_FLAGS].join(" ")}" ;;
${cases.join("\n")}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _bunc bunc
`;
}

function fish(v: Verbs): string {
  const top = [...v.keys()].filter((k) => !k.includes(" "));
  const lines = [
    "# fish completion for bunc (bunc completion fish)",
    `complete -c bunc -f -n __fish_use_subcommand -a "${top.join(" ")}"`,
    ...GLOBAL_FLAGS.map((f) => `complete -c bunc -n __fish_use_subcommand -l ${f.slice(2)}`),
  ];
  for (const [k, flags] of v) {
    const [verb, sub] = k.split(" ");
    if (sub) lines.push(`complete -c bunc -f -n "__fish_seen_subcommand_from ${verb}" -a ${sub}`);
    for (const f of flags)
      lines.push(
        `complete -c bunc -n "__fish_seen_subcommand_from ${verb}" ${f.startsWith("--") ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`}`,
      );
  }
  return `${lines.join("\n")}\n`;
}

export default defineCommand({
  meta: { name: "completion", description: "print a completion script: bash, zsh or fish" },
  args: { shell: { type: "positional", description: "bash, zsh or fish", required: true } },
  async run(ctx) {
    rejectUnknownFlags(ctx);
    const v = await verbs();
    const shell = ctx.args.shell;
    if (shell === "bash") writeSync(1, bash(v));
    // zsh runs the bash script through its bashcompinit.
    else if (shell === "zsh") writeSync(1, `autoload -U +X bashcompinit && bashcompinit\n${bash(v)}`);
    else if (shell === "fish") writeSync(1, fish(v));
    else throw new Error(`completion: ${JSON.stringify(shell)} is not bash, zsh or fish`);
  },
});
