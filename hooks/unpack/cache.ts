// The layer cache under the runtime's state root: each layer unpacked once,
// by its diff id (and the id shift of a user namespace), into
// `<root>/.images/layers/<key>/`. A layer is unpacked into a hidden
// directory under an flock of its own and renamed into place only once
// every byte has been read and both its digests checked: a crash half-way
// leaves only a hidden directory, which is never used and is swept. Creates
// hold the cache lock shared; `bunc image prune` takes it exclusively.
import { createHash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { PassThrough, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { LOCK_EX, LOCK_SH, O } from "../../src/sys/constants.ts";
import { check } from "../../src/sys/errors.ts";
import { sys } from "../../src/sys/lib.ts";
import { flock } from "../../src/sys/libc.ts";
import { openPath } from "../../src/sys/open.ts";
import { processStartTime } from "../../src/sys/process.ts";
import { rootless } from "../../src/sys/rootless.ts";
import { applyLayer, type IdShift } from "./apply.ts";
import type { ImageLayer } from "./image.ts";
import { removeAsUser } from "./rootless.ts";

export const imagesDir = (root: string) => `${root}/.images`;
export const layersDir = (root: string) => `${imagesDir(root)}/layers`;

/** Meta of an unpacked layer, beside its directory. */
export interface LayerMeta {
  readonly diffId: string;
  readonly digest: string;
  /** Bytes of the uncompressed tar. */
  readonly size: number;
  readonly unpacked: string;
}

/** Runs fn under an flock of file (made if missing). */
export function withLock<T>(file: string, mode: number, fn: () => T): T {
  const fd = openSync(file, "a", 0o600);
  try {
    check(flock(fd, mode), `lock ${file}`);
    return fn();
  } finally {
    closeSync(fd);
  }
}

export async function withLockAsync<T>(file: string, mode: number, fn: () => Promise<T>): Promise<T> {
  const fd = openSync(file, "a", 0o600);
  try {
    check(flock(fd, mode), `lock ${file}`);
    return await fn();
  } finally {
    closeSync(fd);
  }
}

/** The cache is used (shared) or pruned (exclusive) under this lock. */
export const cacheLock = (root: string) => {
  // Traversable (not readable) by the uids of user namespaces, whose inits bind the roots below.
  mkdirSync(imagesDir(root), { recursive: true, mode: 0o711 });
  chmodSync(imagesDir(root), 0o711);
  mkdirSync(layersDir(root), { recursive: true, mode: 0o700 });
  return `${imagesDir(root)}/cache.lock`;
};
export { LOCK_EX, LOCK_SH };

export function layerKey(diffId: string, shift: IdShift | null): string {
  const hex = diffId.slice("sha256:".length);
  if (!shift) return hex;
  const map = createHash("sha256").update(JSON.stringify(shift)).digest("hex").slice(0, 12);
  return `${hex}-${map}`;
}

/** Hashes what passes through; check() compares with the digest (and size) it must have. */
function hashing(): Transform & { digest: () => string; bytes: () => number } {
  const h = createHash("sha256");
  let n = 0;
  let done: string | null = null;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      h.update(chunk);
      n += chunk.length;
      done(null, chunk);
    },
  }) as Transform & { digest: () => string; bytes: () => number };
  t.digest = () => {
    done ??= `sha256:${h.digest("hex")}`;
    return done;
  };
  t.bytes = () => n;
  return t;
}

function decompressor(file: string): Transform {
  const fd = openSync(file, "r");
  const head = Buffer.alloc(4);
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return createGunzip();
  if (head.readUInt32LE(0) === 0xfd2fb528) return createZstdDecompress();
  return new PassThrough();
}

/** Hidden directories of unpacks whose process is gone. */
/** Removes unpacked trees: rootless, through a worker, as their files are owned by the containers' ids. */
function removeTrees(paths: readonly string[]): void {
  if (paths.length === 0) return;
  if (rootless()) removeAsUser(paths);
  else for (const p of paths) rmSync(p, { recursive: true, force: true });
}

function sweep(dir: string, key: string): void {
  const dead = readdirSync(dir).filter((name) => {
    const m = /^\.tmp-(.+)-(\d+)$/.exec(name);
    return m && (key === "" || m[1] === key) && processStartTime(Number(m[2])) === null;
  });
  removeTrees(dead.map((name) => `${dir}/${name}`));
}

/** Unpacks a layer into an empty directory, checking both its digests. */
export type Unpacker = (
  layer: ImageLayer,
  dir: string,
  shift: IdShift | null,
  progress: (n: number) => void,
) => Promise<LayerMeta>;

/**
 * The layer's directory in the cache, unpacked now if it is not there.
 * `progress` hears of each chunk of the blob read.
 */
export async function ensureLayer(
  root: string,
  ref: string,
  layer: ImageLayer,
  shift: IdShift | null,
  progress: (bytes: number) => void,
  unpacker: Unpacker = unpackLayer,
): Promise<string> {
  const dir = layersDir(root);
  const key = layerKey(layer.diffId, shift);
  const final = `${dir}/${key}`;
  if (existsSync(`${final}.json`)) return final;
  return withLockAsync(`${dir}/${key}.lock`, LOCK_EX, async () => {
    // Another create may have unpacked it while we waited.
    if (existsSync(`${final}.json`)) return final;
    sweep(dir, key);
    removeTrees(existsSync(final) ? [final] : []);
    const tmp = `${dir}/.tmp-${key}-${process.pid}`;
    mkdirSync(tmp, { mode: 0o755 });
    try {
      const meta = await unpacker(layer, tmp, shift, progress);
      writeFileSync(`${dir}/.${key}.json.tmp`, JSON.stringify(meta));
      renameSync(tmp, final);
      renameSync(`${dir}/.${key}.json.tmp`, `${final}.json`);
      return final;
    } catch (e) {
      removeTrees([tmp]);
      throw new Error(`image ${ref}: layer ${layer.digest}: ${(e as Error).message}`);
    }
  });
}

export async function unpackLayer(
  layer: ImageLayer,
  tmp: string,
  shift: IdShift | null,
  progress: (n: number) => void,
  opaque?: string,
): Promise<LayerMeta> {
  const file = layer.file();
  if (!existsSync(file)) throw new Error("its blob is missing");
  const blob = hashing();
  const tar = hashing();
  const source = createReadStream(file, { highWaterMark: 1 << 20 });
  source.on("data", (c: Buffer) => progress(c.length));
  const rootFd = openPath(tmp, O.PATH | O.DIRECTORY);
  try {
    // An error anywhere, applyLayer's own included, ends every stream: the blob's fd and zlib's state go with it.
    await pipeline(source, blob, decompressor(file), tar, (s: AsyncIterable<Buffer>) =>
      applyLayer(s, rootFd, shift, opaque),
    );
  } catch (e) {
    // zlib's and zstd's own codes (Z_BUF_ERROR for a cut gzip stream, ZSTD_error_*).
    if (/^(Z|ZSTD)_/.test((e as NodeJS.ErrnoException).code ?? ""))
      throw new Error(`its blob does not decompress: ${(e as Error).message}`);
    throw e;
  } finally {
    sys.bunc_close(rootFd);
  }
  if (blob.digest() !== layer.digest || (layer.size >= 0 && blob.bytes() !== layer.size))
    throw new Error(
      `the blob's digest or size does not match the manifest (read ${blob.digest()}, ${blob.bytes()} bytes)`,
    );
  if (tar.digest() !== layer.diffId)
    throw new Error(`its content does not match the config's diff id (read ${tar.digest()})`);
  return {
    diffId: layer.diffId,
    digest: layer.digest,
    size: tar.bytes(),
    unpacked: new Date().toISOString(),
  };
}

export interface CachedLayer extends LayerMeta {
  readonly key: string;
}

export function cachedLayers(root: string): CachedLayer[] {
  const dir = layersDir(root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith(".json") && !n.startsWith("."))
    .map((n) => ({ key: n.slice(0, -5), ...(JSON.parse(readFileSync(`${dir}/${n}`, "utf8")) as LayerMeta) }));
}

/** Removes the layers `inUse` does not name, and what crashed unpacks left; returns the keys removed. */
export function prune(root: string, inUse: ReadonlySet<string>): string[] {
  const dir = layersDir(root);
  return withLock(cacheLock(root), LOCK_EX, () => {
    sweep(dir, "");
    const removed = cachedLayers(root)
      .map((l) => l.key)
      .filter((key) => !inUse.has(key));
    // The meta first: a layer without it is never used, whatever is left of its tree.
    for (const key of removed) rmSync(`${dir}/${key}.json`, { force: true });
    removeTrees(removed.map((key) => `${dir}/${key}`));
    for (const key of removed) rmSync(`${dir}/${key}.lock`, { force: true });
    return removed;
  });
}

/**
 * Each cached layer's key -> the containers whose root stacks it: every one
 * the plugin has a record of, state or not yet (a create between its
 * precreate and its state), so that prune never pulls a layer from under a
 * mounted root.
 */
export function layerUsers(root: string): Map<string, string[]> {
  const users = new Map<string, string[]>();
  const dir = `${imagesDir(root)}/containers`;
  if (!existsSync(dir)) return users;
  for (const id of readdirSync(dir)) {
    let layers: string[] = [];
    try {
      layers = (JSON.parse(readFileSync(`${dir}/${id}/made.json`, "utf8")) as { layers: string[] }).layers;
    } catch {
      // A create still unpacking, or one that died: its layers are not in use by a container.
    }
    for (const key of layers) users.set(key, [...(users.get(key) ?? []), id]);
  }
  return users;
}
