// Bundled plugin `unpack`: a bundle whose annotation bunc.image names a
// local image (an OCI layout directory, an OCI archive or a `docker save`
// tarball) gets its root filesystem from it at podman's precreate stage,
// before bunc plans anything: the layers, verified and unpacked once into
// the cache, are stacked with overlayfs under a per-container upper
// directory, root.path points there, and the image's Env, Entrypoint/Cmd,
// WorkingDir and User fill what the bundle left empty. poststop unmounts
// and removes the container's part.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { posix } from "node:path";
import { debug } from "../../src/diag.ts";
import type { Config } from "../../src/oci/config.ts";
import { ROOT_OVERLAY } from "../../src/plan/rootOverlay.ts";
import { readDbInRoot, resolveUsername } from "../../src/plan/user.ts";
import { O } from "../../src/sys/constants.ts";
import { check } from "../../src/sys/errors.ts";
import { fdPath } from "../../src/sys/inroot.ts";
import { sys } from "../../src/sys/lib.ts";
import { cstr, ErrBuf } from "../../src/sys/mem.ts";
import { openPath } from "../../src/sys/open.ts";
import { rootless } from "../../src/sys/rootless.ts";
import { passwdEntries, records } from "../../src/sys/passwd.ts";
import type { BundledPlugin, HookStateJson, PluginRuntime } from "../index.ts";
import { detach, removeMadeDir, saveMade } from "../record.ts";
import { type IdShift, mapId } from "./apply.ts";
import { cacheLock, ensureLayer, imagesDir, LOCK_SH, layerKey, unpackLayer, withLockAsync } from "./cache.ts";
import { type ImageLayer, type ResolvedImage, resolveImage } from "./image.ts";
import { Progress } from "./progress.ts";
import { makeAsContainerRoot, removeAsUser, workerUnpacker } from "./rootless.ts";

export const IMAGE_ANNOTATION = "bunc.image";

export const containerDir = (root: string, id: string) => `${imagesDir(root)}/containers/${id}`;

/**
 * What precreate made for a container (containers/<id>/made.json): the
 * layers its root stacks, which prune leaves alone. Its mounts are not
 * recorded: tearDown detaches whatever may be mounted.
 */
export interface Made {
  readonly layers: readonly string[];
}

/** The id shift of the config's own user namespace, if it has one with mappings. */
function shiftOf(config: Config): IdShift | null {
  const linux = config.linux;
  const userns = linux?.namespaces?.find((n) => n.type === "user");
  if (!userns || userns.path || !linux?.uidMappings?.length || !linux.gidMappings?.length) return null;
  const ranges = (m: { containerID: number; hostID: number; size: number }[]) =>
    m.map((r) => [r.containerID, r.hostID, r.size] as const);
  return { uid: ranges(linux.uidMappings), gid: ranges(linux.gidMappings) };
}

/**
 * Id-mapped views of the layers for a user namespace, attached under the
 * container's lower/: one unpack then serves every mapping. Null where the
 * kernel refuses (the caller unpacks shifted copies instead).
 */
function idmappedLayers(layers: readonly string[], shift: IdShift, dir: string): string[] | null {
  const text = (ranges: IdShift["uid"]) =>
    ranges.map(([inside, outside, size]) => `${inside} ${outside} ${size}`).join("\n");
  const err = new ErrBuf();
  const userns = sys.bunc_userns_fd(cstr(text(shift.uid)), cstr(text(shift.gid)), err.buf, err.len);
  if (userns < 0) return null;
  try {
    mkdirSync(`${dir}/lower`, { mode: 0o711 });
    const views: string[] = [];
    for (const layer of layers) {
      const tree = sys.bunc_idmapped_tree(cstr(layer), userns, 0, err.buf, err.len);
      if (tree < 0) {
        debug(`image: no id-mapped layers here (${err.text()}): unpacking shifted copies`);
        return null;
      }
      const view = `${dir}/lower/${views.length}`;
      mkdirSync(view, { mode: 0o755 });
      const rc = sys.bunc_move_mount(tree, cstr(view));
      sys.bunc_close(tree);
      check(rc, `image: attach the id-mapped layer ${posix.basename(layer)}`);
      views.push(view);
    }
    return views;
  } finally {
    sys.bunc_close(userns);
  }
}

/** Detaches every id-mapped view under lower/, attached or not. */
function unmountLowers(dir: string): void {
  if (!existsSync(`${dir}/lower`)) return;
  for (const name of readdirSync(`${dir}/lower`))
    detach(`${dir}/lower/${name}`, `image: detach the id-mapped layer ${name}`);
}

/**
 * Each diff id at its topmost place only: overlayfs refuses one directory
 * twice in a stack (ELOOP), and the root is the same, as the upper copy
 * decides again every path the layer names.
 */
function topmost(layers: readonly ImageLayer[]): ImageLayer[] {
  return layers.filter((l, i) => !layers.slice(i + 1).some((above) => above.diffId === l.diffId));
}

/** mount(2) takes one page of options (4096 bytes with the NUL) and cuts off the rest. */
const MOUNT_DATA_MAX = 4095;

function mount(layers: readonly string[], dir: string, id: string, ref: string): void {
  // Overlayfs wants the top layer first.
  const top = [...layers].reverse();
  const data = (lower: readonly string[]) =>
    `lowerdir=${lower.join(":")},upperdir=${dir}/upper,workdir=${dir}/work`;
  const fits = (lower: readonly string[]) => Buffer.byteLength(data(lower)) <= MOUNT_DATA_MAX;
  const fds: number[] = [];
  try {
    let lower = top;
    if (!fits(lower)) {
      // Too long as paths (some 40 layers): each layer as an fd of ours, /proc/self/fd/N.
      for (const layer of top)
        fds.push(openPath(layer, O.PATH | O.DIRECTORY, `image: open layer ${posix.basename(layer)}`));
      lower = fds.map(fdPath);
      if (!fits(lower))
        throw new Error(
          `image ${ref}: its ${layers.length} layers are more than one overlayfs mount's options can name`,
        );
    }
    check(
      sys.bunc_mount(cstr("overlay"), cstr(`${dir}/rootfs`), cstr("overlay"), 0, cstr(data(lower))),
      `image: mount the root filesystem of container ${id}`,
    );
  } finally {
    for (const fd of fds) sys.bunc_close(fd);
  }
}

/** The image's User as process.user: numbers directly, names through the image's own files. */
function userOf(spec: string, rootOf: (file: string) => string, ref: string): Config["process"]["user"] {
  const [u = "", g] = spec.split(":");
  const field = `image ${ref}: User ${JSON.stringify(spec)}`;
  const passwd = () => passwdEntries(readDbInRoot(rootOf("/etc/passwd"), "/etc/passwd", field) ?? "");
  const entry = /^\d+$/.test(u)
    ? passwd().find((e) => e.uid === Number(u))
    : passwd().find((e) => e.name === u);
  if (!/^\d+$/.test(u) && !entry) throw new Error(`${field}: no such user in the image's /etc/passwd`);
  const uid = /^\d+$/.test(u) ? Number(u) : (entry?.uid ?? 0);
  let gid = entry?.gid ?? 0;
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const group = records(readDbInRoot(rootOf("/etc/group"), "/etc/group", field) ?? "").find(
        ([name]) => name === g,
      );
      if (!group || !/^\d+$/.test(group[2] ?? ""))
        throw new Error(`${field}: no such group in the image's /etc/group`);
      gid = Number(group[2]);
    }
  }
  return { uid, gid, ...(entry && g === undefined ? { username: entry.name } : {}) };
}

/**
 * The image's settings where the bundle left the field empty (cwd "/" is
 * the default spec's); its Env under the bundle's own variables.
 */
function applyImageConfig(
  config: Config,
  image: ResolvedImage,
  rootfs: string,
  rootOf: (file: string) => string,
): Config {
  const c = image.config.config ?? {};
  const p = config.process;
  const args = p.args?.length ? p.args : [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  if (!args.length)
    throw new Error(
      `image ${image.ref}: the bundle names no process.args and the image no Entrypoint or Cmd`,
    );
  const keepsRoot = p.user.uid === 0 && p.user.gid === 0 && !p.user.username;
  return {
    ...config,
    root: { ...config.root, path: rootfs },
    process: {
      ...p,
      args,
      // The image's variables under the bundle's: a name the bundle sets is the bundle's.
      env: [
        ...(c.Env ?? []).filter((e) => !(p.env ?? []).some((b) => b.split("=")[0] === e.split("=")[0])),
        ...(p.env ?? []),
      ],
      cwd: (p.cwd === "/" || !p.cwd) && c.WorkingDir ? c.WorkingDir : p.cwd,
      user: keepsRoot && c.User ? userOf(c.User, rootOf, image.ref) : p.user,
    },
  };
}

/**
 * Detaches the root and the layer views whatever the record says (a create
 * may have died before saying it mounted them), then removes the
 * container's directory, never while anything under it is still mounted.
 */
function tearDown(root: string, id: string): void {
  const dir = containerDir(root, id);
  if (!existsSync(dir)) return;
  // Rootless, nothing was mounted on the host (and unmounting is not allowed),
  // and what the container made is owned by its ids: a worker removes it.
  if (rootless()) {
    removeMadeDir(dir, `image: container ${id}`, (p) => removeAsUser([p]));
    return;
  }
  detach(`${dir}/rootfs`, `image: unmount the root filesystem of container ${id}`);
  unmountLowers(dir);
  removeMadeDir(dir, `image: container ${id}`);
}

/**
 * Rootless: the container's own mappings as an id shift (a user namespace
 * without mappings maps the caller to root), for the cache's key; a
 * container without a user namespace is refused, as the planner would.
 */
function rootlessShift(config: Config): IdShift {
  const userns = config.linux?.namespaces?.find((n) => n.type === "user" && !n.path);
  if (!userns)
    throw new Error(
      "image: a rootless container needs a user namespace of its own (bunc spec --rootless writes one)",
    );
  return (
    shiftOf(config) ?? {
      uid: [[0, process.getuid?.() ?? 0, 1]],
      gid: [[0, process.getgid?.() ?? 0, 1]],
    }
  );
}

/** Rootless: the stack is the init's to mount, inside the container's namespaces (see plan/rootOverlay.ts). */
function withRootOverlay(config: Config, layers: readonly string[], dir: string): Config {
  const overlay = {
    lower: [...layers].reverse(),
    upper: `${dir}/upper`,
    work: `${dir}/work`,
    userxattr: true,
  };
  return { ...config, annotations: { ...config.annotations, [ROOT_OVERLAY]: JSON.stringify(overlay) } };
}

async function precreate(state: HookStateJson, config: Config, root: string): Promise<Config | undefined> {
  const raw = state.annotations?.[IMAGE_ANNOTATION] ?? config.annotations?.[IMAGE_ANNOTATION];
  if (raw === undefined) return undefined;
  const ref = posix.resolve(state.bundle, raw);
  const id = state.id;
  const dir = containerDir(root, id);
  cacheLock(root);
  mkdirSync(posix.dirname(dir), { recursive: true, mode: 0o711 });
  chmodSync(posix.dirname(dir), 0o711);
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST")
      throw new Error(`image: container ${id} has an unpacked root already`);
    throw new Error(`image: make ${dir} for container ${id}: ${(e as Error).message}`);
  }
  try {
    const unprivileged = rootless();
    const shift = unprivileged ? rootlessShift(config) : shiftOf(config);
    const unpacker = unprivileged ? workerUnpacker(config) : unpackLayer;
    await withLockAsync(cacheLock(root), LOCK_SH, async () => {
      const image = resolveImage(ref, () => {
        mkdirSync(`${dir}/staging`, { mode: 0o700 });
        return `${dir}/staging`;
      });
      const layers = topmost(image.layers);
      const unpackAll = async (s: IdShift | null) => {
        const missing = layers.filter(
          (l) => !existsSync(`${imagesDir(root)}/layers/${layerKey(l.diffId, s)}.json`),
        );
        if (missing.length) image.stage(missing);
        const progress = new Progress(layers, missing);
        const dirs: string[] = [];
        for (const layer of layers)
          dirs.push(await ensureLayer(root, ref, layer, s, (n) => progress.add(layer, n), unpacker));
        progress.done();
        return { dirs, unpacked: missing.length };
      };
      // A user namespace gets id-mapped views of the shared layers where the kernel allows, shifted copies otherwise.
      // Rootless, the worker unpacks in the container's user namespace: the layers are its own.
      let { dirs, unpacked } = await unpackAll(unprivileged ? shift : null);
      let stacked = dirs;
      if (shift && !unprivileged) {
        const views = idmappedLayers(dirs, shift, dir);
        if (views) stacked = views;
        else {
          unmountLowers(dir);
          ({ dirs, unpacked } = await unpackAll(shift));
          stacked = dirs;
        }
      }
      rmSync(`${dir}/staging`, { recursive: true, force: true });
      mkdirSync(`${dir}/rootfs`, { mode: 0o755 });
      // The container's root directory (upper) and overlayfs's work directory:
      // its root's, mode 0755. Rootless, its root may be an id only the
      // container's user namespace gives a file: a worker makes them there.
      if (unprivileged) makeAsContainerRoot(config, [`${dir}/upper`, `${dir}/work`]);
      else for (const sub of ["upper", "work"]) mkdirSync(`${dir}/${sub}`, { mode: 0o755 });
      if (!unprivileged) chmodSync(`${dir}/upper`, 0o755);
      if (shift && !unprivileged)
        check(
          sys.bunc_fchownat(
            -100,
            cstr(`${dir}/upper`),
            mapId(shift.uid, 0, "uid", "/"),
            mapId(shift.gid, 0, "gid", "/"),
          ),
          "image: chown the upper directory",
        );
      saveMade(dir, { layers: dirs.map((l) => posix.basename(l)) } satisfies Made);
      if (unprivileged) config = withRootOverlay(config, stacked, dir);
      else mount(stacked, dir, id, ref);
      debug(`image: ${ref} mounted for ${id} (${unpacked} of ${dirs.length} layers unpacked)`);
      // Rootless, the root is not mounted yet: a file is read from the topmost layer that has it.
      const rootOf = (file: string) =>
        unprivileged
          ? ([...stacked].reverse().find((l) => existsSync(`${l}${file}`)) ?? `${dir}/rootfs`)
          : `${dir}/rootfs`;
      config = applyImageConfig(config, image, `${dir}/rootfs`, rootOf);
      // Nor can the planner read the user's groups from it: resolved here, by the layer that has them.
      if (unprivileged && config.process.user.username) {
        const { username: _, ...user } = resolveUsername(config, rootOf("/etc/passwd")).process.user;
        config = { ...config, process: { ...config.process, user } };
      }
    });
    return config;
  } catch (e) {
    try {
      tearDown(root, id);
    } catch {
      // The create's error says what went wrong; its poststop tries the rest again.
    }
    throw e;
  }
}

const unpack: BundledPlugin = {
  async run(stage, state, _args, config, runtime?: PluginRuntime) {
    const root = runtime?.root;
    if (!root) throw new Error("image: the runtime's state root is not known");
    if (stage === "poststop") {
      tearDown(root, state.id);
      return undefined;
    }
    if (stage !== "precreate") throw new Error(`image: runs at precreate and poststop, not ${stage}`);
    const cfg = config ?? (JSON.parse(readFileSync(`${state.bundle}/config.json`, "utf8")) as Config);
    const next = await precreate(state, cfg, root);
    return next ? { config: next } : undefined;
  },
};

export default unpack;
