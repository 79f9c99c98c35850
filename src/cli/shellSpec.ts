// Shell mode (`bunc run --rootfs DIR` / `--image REF`): the config a
// bundle would hold, built in memory from docker-like flags on top of the
// default `bunc spec` writes. It then goes the way a bundle's config goes:
// the same validation, the same plan.
import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { parseBytes } from "./updateFlags.ts";
import type { Config } from "../oci/config.ts";
import { defaultSpec, rootlessSpec } from "../oci/default.ts";
import { euid } from "../sys/rootless.ts";
import { CAPABILITIES } from "../sys/constants.ts";

export interface ShellOptions {
  readonly rootfs?: string | undefined;
  readonly image?: string | undefined;
  readonly name: string;
  readonly env: readonly string[];
  readonly envFiles: readonly string[];
  readonly volumes: readonly string[];
  readonly workdir?: string | undefined;
  readonly user?: string | undefined;
  readonly hostname?: string | undefined;
  readonly readOnly: boolean;
  readonly tmpfs: readonly string[];
  readonly memory?: string | undefined;
  readonly pidsLimit?: string | undefined;
  readonly cpus?: string | undefined;
  readonly network: string;
  readonly capAdd: readonly string[];
  readonly capDrop: readonly string[];
  readonly cgroupParent?: string | undefined;
  readonly tty: boolean;
  readonly args: readonly string[];
}

/** Where paths given on the command line are resolved. */
const abs = (p: string) => posix.resolve(process.cwd(), p);

function envOf(o: ShellOptions): string[] {
  const lines = o.envFiles.flatMap((f) => {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch (e) {
      throw new Error(
        `--env-file: cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    return text.split("\n").filter((l) => l.trim() && !l.trimStart().startsWith("#"));
  });
  // K=V as given; a bare K takes the caller's value, as docker does.
  const entries = [...lines, ...o.env].flatMap((e) => {
    if (e.includes("=")) return [e];
    const v = process.env[e];
    return v === undefined ? [] : [`${e}=${v}`];
  });
  // An image brings its own PATH and the like (the unpack plugin puts them under these).
  const base = o.image === undefined ? (defaultSpec().process.env ?? []) : [];
  // One entry a name, the last given winning as with docker: with two, getenv would return the first.
  const byName = new Map<string, string>();
  for (const e of [...base, ...entries]) byName.set(e.slice(0, e.indexOf("=")), e);
  return [...byName.values()];
}

function userOf(spec: string): Config["process"]["user"] {
  const m = /^(\d+)(?::(\d+))?$/.exec(spec);
  if (m) return { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
  if (!/^[A-Za-z_][\w.-]*$/.test(spec))
    throw new Error(`--user: ${JSON.stringify(spec)} is neither UID[:GID] nor a user name`);
  return { uid: 0, gid: 0, username: spec };
}

function volume(spec: string): NonNullable<Config["mounts"]>[number] {
  const [src, dst, mode, extra] = spec.split(":");
  if (!src || !dst || extra !== undefined || (mode !== undefined && mode !== "ro" && mode !== "rw"))
    throw new Error(`--volume: ${JSON.stringify(spec)} is not SRC:DST[:ro]`);
  if (!dst.startsWith("/"))
    throw new Error(`--volume: ${JSON.stringify(spec)}: the destination must be absolute`);
  return {
    destination: dst,
    type: "bind",
    source: abs(src),
    options: ["rbind", mode === "ro" ? "ro" : "rw"],
  };
}

/** DST[:OPTIONS], the options comma-separated mount options as docker takes them. */
function tmpfs(spec: string): NonNullable<Config["mounts"]>[number] {
  const colon = spec.indexOf(":");
  const dst = colon < 0 ? spec : spec.slice(0, colon);
  const options = colon < 0 ? [] : spec.slice(colon + 1).split(",");
  if (!dst.startsWith("/")) throw new Error(`--tmpfs: ${JSON.stringify(dst)} is not an absolute path`);
  if (options.includes("")) throw new Error(`--tmpfs: ${JSON.stringify(spec)} has an empty mount option`);
  return {
    destination: dst,
    type: "tmpfs",
    source: "tmpfs",
    // After the defaults: of two settings of one option, the later wins.
    options: ["nosuid", "nodev", "mode=1777", ...options],
  };
}

function capName(flag: string, name: string): string {
  const cap = `CAP_${name.toUpperCase().replace(/^CAP_/, "")}`;
  if (!(cap in CAPABILITIES)) throw new Error(`--${flag}: ${JSON.stringify(name)} is no capability`);
  return cap;
}

// Docker's rules: --cap-add ALL is every capability but the dropped ones;
// else --cap-drop ALL leaves the added ones alone; else the default set
// less the dropped, plus the added.
function capabilities(o: ShellOptions): NonNullable<Config["process"]["capabilities"]> {
  const isAll = (c: string) => c.toUpperCase() === "ALL";
  const addAll = o.capAdd.some(isAll);
  const dropAll = o.capDrop.some(isAll);
  if (addAll && dropAll) throw new Error("--cap-add ALL and --cap-drop ALL contradict each other");
  const added = o.capAdd.filter((c) => !isAll(c)).map((c) => capName("cap-add", c));
  const dropped = new Set(o.capDrop.filter((c) => !isAll(c)).map((c) => capName("cap-drop", c)));
  const start = addAll
    ? Object.keys(CAPABILITIES)
    : dropAll
      ? []
      : (defaultSpec().process.capabilities?.bounding ?? []);
  const caps = [...new Set([...start.filter((c) => !dropped.has(c)), ...(addAll ? [] : added)])];
  return { bounding: caps, effective: caps, permitted: caps };
}

function resources(o: ShellOptions, base: Config): NonNullable<Config["linux"]>["resources"] {
  const r: NonNullable<NonNullable<Config["linux"]>["resources"]> = { ...base.linux?.resources };
  if (o.memory !== undefined) r.memory = { limit: Number(parseBytes("memory", o.memory)) };
  if (o.pidsLimit !== undefined) {
    if (!/^\d+$/.test(o.pidsLimit))
      throw new Error(`--pids-limit: ${JSON.stringify(o.pidsLimit)} is not a number`);
    r.pids = { limit: Number(o.pidsLimit) };
  }
  if (o.cpus !== undefined) {
    const n = Number(o.cpus);
    if (!/^\d*\.?\d+$/.test(o.cpus) || n <= 0)
      throw new Error(`--cpus: ${JSON.stringify(o.cpus)} is not a number of CPUs`);
    r.cpu = { quota: Math.round(n * 100_000), period: 100_000 };
  }
  return r;
}

export function shellSpec(o: ShellOptions): Config {
  if ((o.rootfs === undefined) === (o.image === undefined))
    throw new Error("give --rootfs DIR or --image REF");
  if (o.rootfs !== undefined && !o.args.length) throw new Error("--rootfs: give the command to run after --");
  if (!["none", "host", "bridge"].includes(o.network))
    throw new Error(`--network: ${JSON.stringify(o.network)} is not none, host or bridge`);
  // An ordinary user gets what `bunc spec --rootless` writes, its own
  // network namespace kept unless --network host.
  const unprivileged = euid() !== 0;
  const base = unprivileged
    ? rootlessSpec(defaultSpec(), process.getuid?.() ?? 0, process.getgid?.() ?? 0)
    : defaultSpec();
  const own = base.linux?.namespaces ?? [];
  const namespaces = [
    ...own.filter((n) => o.network !== "host" || n.type !== "network"),
    ...(unprivileged && o.network !== "host" ? [{ type: "network" as const }] : []),
  ];
  const annotations: Record<string, string> = {
    ...(o.image !== undefined ? { "bunc.image": o.image } : {}),
    ...(o.network === "bridge" ? { "bunc.network": "bridge" } : {}),
  };
  return {
    ...base,
    process: {
      ...base.process,
      terminal: o.tty,
      args: [...o.args],
      env: envOf(o),
      cwd: o.workdir ?? "/",
      user: o.user === undefined ? base.process.user : userOf(o.user),
      capabilities: capabilities(o),
    },
    // "rootfs" stays relative: `bunc spec` writes it for a bundle.
    root: {
      path: o.rootfs === undefined || o.rootfs === "rootfs" ? "rootfs" : abs(o.rootfs),
      readonly: o.readOnly,
    },
    hostname: o.hostname ?? o.name,
    mounts: [...(base.mounts ?? []), ...o.volumes.map(volume), ...o.tmpfs.map(tmpfs)],
    linux: {
      ...base.linux,
      namespaces,
      resources: resources(o, base),
      ...(o.cgroupParent !== undefined
        ? { cgroupsPath: `${o.cgroupParent.replace(/\/+$/, "")}/${o.name}` }
        : {}),
    },
    ...(Object.keys(annotations).length ? { annotations } : {}),
  };
}
