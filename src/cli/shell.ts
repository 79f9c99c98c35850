// Shell mode: `bunc run --rootfs DIR [FLAGS] -- CMD [ARGS...]` and
// `bunc run --image REF [FLAGS] [-- CMD [ARGS...]]`, a container with no
// bundle for scripts. The flags build the config in memory (shellSpec.ts);
// from there it is an ordinary create and run, removed afterwards unless
// --keep or detached. --image and --network bridge bring their bundled
// plugins along.
import { randomBytes } from "node:crypto";
import { closeSync, openSync, writeSync } from "node:fs";
import { bundledPlugin } from "../hooks/admin.ts";
import { createContainer } from "../lifecycle/create.ts";
import { checkId } from "../lifecycle/id.ts";
import { runCreated } from "../lifecycle/run.ts";
import { store } from "./command.ts";
import { type FlagDef, isOn, lastOf, type ParsedFlags, parseFlags } from "./flagParser.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { isTerminal } from "../sys/libc.ts";
import { setStderr } from "./log.ts";
import { globals } from "./options.ts";
import { type ShellOptions, shellSpec } from "./shellSpec.ts";

export const SHELL_FLAGS: readonly FlagDef[] = [
  ["rootfs", null, true, false],
  ["image", null, true, false],
  ["name", null, true, false],
  ["rm", null, false, false],
  ["keep", null, false, false],
  ["env", "e", true, true],
  ["env-file", null, true, true],
  ["volume", "v", true, true],
  ["workdir", "w", true, false],
  ["user", "u", true, false],
  ["hostname", null, true, false],
  ["read-only", null, false, false],
  ["tmpfs", null, true, true],
  ["memory", "m", true, false],
  ["pids-limit", null, true, false],
  ["cpus", null, true, false],
  ["network", null, true, false],
  ["cap-add", null, true, true],
  ["cap-drop", null, true, true],
  ["cgroup-parent", null, true, false],
  ["tty", "t", false, false],
  ["print-spec", null, false, false],
  ["detach", "d", false, false],
  ["help", "h", false, false],
];

export const SHELL_USAGE = `bunc run --rootfs DIR [FLAGS] -- CMD [ARGS...]
bunc run --image REF [FLAGS] [-- CMD [ARGS...]]

A container with no bundle: the config is built from the flags, run, and
removed when the command ends. Flags:
  --name ID               the container's id (default: generated)
  --keep                  keep the stopped container (--rm, the default, removes it; not with -d)
  -e, --env K=V           set a variable (K alone: the caller's value); repeatable
  --env-file F            variables from a file, one K=V a line; repeatable
  -v, --volume SRC:DST[:ro]  bind a host path; repeatable
  -w, --workdir DIR       the working directory
  -u, --user UID[:GID]|NAME
  --hostname NAME         (default: the id)
  --read-only             the root filesystem read-only
  --tmpfs DST[:OPTS]      a tmpfs at DST, OPTS its mount options (size=64m,mode=700); repeatable
  -m, --memory SIZE       a memory limit (64m, 1g)
  --pids-limit N          at most N processes
  --cpus N                CPU time, in CPUs (0.5)
  --network none|host|bridge  none (default: loopback only), the host's, or bunc's bridge
  --cap-add CAP, --cap-drop CAP  (ALL accepted); repeatable
  --cgroup-parent PATH    the container's cgroup goes below PATH
  -t, --tty               a terminal (default: when stdin and stdout are one)
  --print-spec            print the config.json instead of running it
  -d, --detach            start it and print its id; it is kept when it ends (bunc delete ID)
`;

/** The config-building part of the flags (not how it runs). */
export function shellOptions(
  p: ParsedFlags,
  rootfs: string | undefined,
  name = lastOf(p, "name") ?? "bunc",
): Omit<ShellOptions, "tty" | "args"> {
  const list = (flag: string) => p.flags.get(flag) ?? [];
  return {
    rootfs,
    image: lastOf(p, "image"),
    name,
    env: list("env"),
    envFiles: list("env-file"),
    volumes: list("volume"),
    workdir: lastOf(p, "workdir"),
    user: lastOf(p, "user"),
    hostname: lastOf(p, "hostname"),
    readOnly: isOn(p, "read-only"),
    tmpfs: list("tmpfs"),
    memory: lastOf(p, "memory"),
    pidsLimit: lastOf(p, "pids-limit"),
    cpus: lastOf(p, "cpus"),
    network: lastOf(p, "network") ?? "none",
    capAdd: list("cap-add"),
    capDrop: list("cap-drop"),
    cgroupParent: lastOf(p, "cgroup-parent"),
  };
}

export async function shellRun(raw: readonly string[]): Promise<number> {
  const p = parseFlags(raw, SHELL_FLAGS, false);
  if (isOn(p, "help")) {
    writeSync(1, SHELL_USAGE);
    return 0;
  }
  const name = checkId(lastOf(p, "name") ?? `bunc-${randomBytes(6).toString("hex")}`);
  const detach = isOn(p, "detach");
  // Nothing of bunc stays with a detached container to remove it when it ends.
  if (detach && isOn(p, "rm"))
    throw new Error(
      "--rm: a detached container is kept when it ends (bunc delete removes it); drop --rm or -d",
    );
  const ttyFlag = lastOf(p, "tty");
  const config = shellSpec({
    ...shellOptions(p, lastOf(p, "rootfs"), name),
    tty: ttyFlag === undefined ? !detach && isTerminal(0) && isTerminal(1) : ttyFlag !== "false",
    args: p.args,
  });
  if (isOn(p, "print-spec")) {
    writeSync(1, `${JSON.stringify(config, null, "\t")}\n`);
    return 0;
  }
  if (detach && config.process.terminal)
    throw new Error("--tty: a detached container has no terminal here (drop -t)");
  // A detached container must not hold the caller's stdio (`id=$(bunc run -d ...)` would never end):
  // it gets /dev/null; the id and bunc's own messages go to the caller's stdout and stderr, reopened.
  const out = detach ? check(sys.bunc_dup(1), "keep stdout") : 1;
  if (detach) {
    setStderr(check(sys.bunc_dup(2), "keep stderr"));
    const devNull = openSync("/dev/null", "r+");
    for (const fd of [0, 1, 2]) check(sys.bunc_dup2(devNull, fd), "give the detached container /dev/null");
    closeSync(devNull);
  }
  const s = store();
  const plugins = [
    ...(lastOf(p, "image") !== undefined ? [bundledPlugin("unpack")] : []),
    ...(lastOf(p, "network") === "bridge" ? [bundledPlugin("network")] : []),
  ];
  const created = await createContainer(s, {
    id: name,
    bundle: process.cwd(),
    config,
    plugins,
    hooksDirs: globals.hooksDirs,
    systemdCgroup: globals.systemdCgroup,
    console: detach ? undefined : "foreground",
  });
  const code = await runCreated(s, created, { detach, keep: isOn(p, "keep") && !isOn(p, "rm") });
  if (detach) writeSync(out, `${name}\n`);
  return code;
}
