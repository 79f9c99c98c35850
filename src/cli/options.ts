// runc's global options, which come before the subcommand
// (`bunc --root /run/x --log f --log-format json create ...`).
import { defaultStateRoot } from "../lifecycle/stateRoot.ts";
import { setRootless } from "../sys/rootless.ts";

export interface GlobalOptions {
  /** --root; the default depends on who runs bunc (defaultStateRoot). */
  root: string;
  log: string | undefined;
  logFormat: "text" | "json";
  debug: boolean;
  /** Plugin directories after the default one (--hooks-dir, repeatable). */
  hooksDirs: string[];
  /** --systemd-cgroup: cgroupsPath is systemd's slice:prefix:name. */
  systemdCgroup: boolean;
}

let root: string | undefined;

export const globals: GlobalOptions = {
  // Decided on first use: the fallback for a user may have to make its directory.
  get root() {
    root ??= defaultStateRoot();
    return root;
  },
  set root(dir: string) {
    root = dir;
  },
  log: undefined,
  logFormat: "text",
  debug: false,
  hooksDirs: [],
  systemdCgroup: false,
};

const VALUED = new Set(["--root", "--log", "--log-format", "--rootless", "--criu", "--hooks-dir"]);

/** The global options, as completion offers them. */
export const GLOBAL_FLAGS = [
  "--root",
  "--log",
  "--log-format",
  "--debug",
  "--hooks-dir",
  "--systemd-cgroup",
  "--rootless",
  "--version",
  "--help",
];

/** Takes the global options off the front of argv; returns the rest. */
export function takeGlobals(argv: readonly string[]): string[] {
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] ?? "";
    if (
      !arg.startsWith("-") ||
      arg === "-" ||
      arg === "--help" ||
      arg === "-h" ||
      arg === "--version" ||
      arg === "-v"
    )
      break;
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    let value: string | undefined;
    if (VALUED.has(name)) {
      value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new Error(`option ${name} needs a value`);
    }
    switch (name) {
      case "--root":
        globals.root = value ?? "";
        break;
      case "--log":
        globals.log = value;
        break;
      case "--log-format":
        if (value !== "text" && value !== "json")
          throw new Error(`--log-format: must be text or json, not ${value}`);
        globals.logFormat = value;
        break;
      case "--hooks-dir":
        globals.hooksDirs.push(value ?? "");
        break;
      case "--debug":
        globals.debug = true;
        break;
      case "--rootless":
        if (value !== "true" && value !== "false" && value !== "auto")
          throw new Error(`--rootless: must be true, false or auto, not ${value}`);
        setRootless(value);
        break;
      case "--systemd-cgroup":
        globals.systemdCgroup = true;
        break;
      default:
        throw new Error(`unknown global option ${name}`);
    }
    i++;
  }
  return argv.slice(i);
}
