import { writeFileSync } from "node:fs";
import { posix } from "node:path";
import { defineCommand } from "citty";
import { defaultSpec, rootlessSpec } from "../../oci/default.ts";
import { type FlagDef, isOn, lastOf, parseFlags } from "../flagParser.ts";
import { SHELL_FLAGS, shellOptions } from "../shell.ts";
import { shellSpec } from "../shellSpec.ts";

// Shell mode's flags (but those about running it) build the config too.
const SPEC_FLAGS: readonly FlagDef[] = [
  ["bundle", "b", true, false],
  ["rootless", null, false, false],
  ...SHELL_FLAGS.filter(([name]) => !["image", "rm", "keep", "print-spec", "detach", "help"].includes(name)),
];

export default defineCommand({
  meta: {
    name: "spec",
    description:
      "write a starter config.json for a bundle: [--bundle DIR] [--rootless] [shell mode's flags] [-- CMD ARGS...]",
  },
  async run(ctx) {
    const p = parseFlags(ctx.rawArgs, SPEC_FLAGS, false);
    const shellGiven =
      [...p.flags.keys()].some((k) => k !== "bundle" && k !== "rootless") || p.args.length > 0;
    // A root given here is a path on the command line, from the current directory; the default is the bundle's.
    const rootfs = lastOf(p, "rootfs");
    let config = shellGiven
      ? shellSpec({
          ...shellOptions(p, rootfs === undefined ? "rootfs" : posix.resolve(rootfs)),
          tty: isOn(p, "tty"),
          args: p.args.length ? p.args : ["sh"],
        })
      : defaultSpec();
    if (isOn(p, "rootless")) config = rootlessSpec(config, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    const path = `${lastOf(p, "bundle") ?? "."}/config.json`;
    try {
      // "wx": never through a config.json that is a link, dangling or not.
      writeFileSync(path, `${JSON.stringify(config, null, "\t")}\n`, { flag: "wx" });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new Error(`${path} exists; remove it first`);
      throw e;
    }
  },
});
