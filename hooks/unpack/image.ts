// A local image reference (bunc.image) to its verified parts: the image
// config and its layers, each with where its bytes are and the digests they
// must have. An OCI layout directory is read in place; an OCI archive or a
// `docker save` tarball is first staged with node-tar (metadata, then only
// the layer blobs not cached yet). Every document is checked against the
// digest and size that name it before it is used.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import * as tar from "tar";
import type * as v from "valibot";
import { checked } from "../../src/oci/checked.ts";
import { type Descriptor, DockerManifest, ImageConfig, Index, Manifest } from "./schema.ts";

export interface ImageLayer {
  /** The blob's digest and size, as the manifest names them (docker save: the diff id and the file's size). */
  readonly digest: string;
  readonly size: number;
  /** The digest of the uncompressed tar (rootfs.diff_ids): the layer's name in the cache. */
  readonly diffId: string;
  /** Where the blob is, once staged. */
  readonly file: () => string;
}

export interface ResolvedImage {
  readonly ref: string;
  readonly config: ImageConfig;
  readonly layers: readonly ImageLayer[];
  /** Stages the blobs of these layers (an archive's); a directory's are in place. */
  readonly stage: (layers: readonly ImageLayer[]) => void;
}

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** A document checked against the descriptor that names it, then against its schema. */
function readVerified<S extends v.GenericSchema>(
  file: string,
  d: { digest: string; size: number },
  schema: S,
  ref: string,
  what: string,
): v.InferOutput<S> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new Error(`image ${ref}: ${what} ${d.digest} is missing`);
  }
  if (bytes.length !== d.size || sha256(bytes) !== d.digest)
    throw new Error(`image ${ref}: ${what} ${d.digest} does not match its digest or size`);
  return parseJson(bytes, schema, ref, what);
}

function parseJson<S extends v.GenericSchema>(
  bytes: Buffer,
  schema: S,
  ref: string,
  what: string,
): v.InferOutput<S> {
  try {
    return checked(schema, JSON.parse(bytes.toString("utf8")));
  } catch (e) {
    throw new Error(`image ${ref}: ${what}: ${(e as Error).message}`);
  }
}

const ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm" };
const INDEX_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
];
const REF_NAME = "org.opencontainers.image.ref.name";

/** The one manifest of an index the selector (tag or digest) names, this machine's platform first. */
function pick(manifests: readonly Descriptor[], selector: string | null, ref: string): Descriptor {
  let found = manifests;
  if (selector?.startsWith("sha256:")) found = manifests.filter((m) => m.digest === selector);
  else if (selector !== null) found = manifests.filter((m) => m.annotations?.[REF_NAME] === selector);
  const mine = found.filter(
    (m) => !m.platform || (m.platform.os === "linux" && m.platform.architecture === ARCH[process.arch]),
  );
  if (mine.length === 1 && mine[0]) return mine[0];
  if (found.length === 0) throw new Error(`image ${ref}: no image ${selector} in it`);
  if (mine.length === 0) throw new Error(`image ${ref}: no image for linux/${ARCH[process.arch]} in it`);
  const tags = mine.map((m) => m.annotations?.[REF_NAME] ?? m.digest).join(", ");
  throw new Error(`image ${ref}: holds several images (${tags}): name one with :TAG or @sha256:DIGEST`);
}

function layoutImage(
  dir: string,
  selector: string | null,
  ref: string,
  stage: ResolvedImage["stage"],
): ResolvedImage {
  const blob = (d: { digest: string }) => join(dir, "blobs", "sha256", d.digest.slice("sha256:".length));
  const indexBytes = readFileSync(join(dir, "index.json"));
  let manifests = parseJson(indexBytes, Index, ref, "index.json").manifests;
  // A multi-platform image is an index inside the index.
  for (let depth = 0; ; depth++) {
    const d = pick(manifests, depth === 0 ? selector : null, ref);
    if (!INDEX_TYPES.includes(d.mediaType ?? "")) {
      const manifest = readVerified(blob(d), d, Manifest, ref, "manifest");
      const config = readVerified(blob(manifest.config), manifest.config, ImageConfig, ref, "config");
      if (config.rootfs.diff_ids.length !== manifest.layers.length)
        throw new Error(
          `image ${ref}: its config lists ${config.rootfs.diff_ids.length} layers, its manifest ${manifest.layers.length}`,
        );
      const layers = manifest.layers.map((l, i) => ({
        digest: l.digest,
        size: l.size,
        diffId: config.rootfs.diff_ids[i] ?? "",
        file: () => blob(l),
      }));
      return { ref, config, layers, stage };
    }
    if (depth > 2) throw new Error(`image ${ref}: indexes nest too deep`);
    manifests = readVerified(blob(d), d, Index, ref, "index").manifests;
  }
}

function dockerImage(
  dir: string,
  selector: string | null,
  ref: string,
  stage: ResolvedImage["stage"],
): ResolvedImage {
  const entries = parseJson(readFileSync(join(dir, "manifest.json")), DockerManifest, ref, "manifest.json");
  const found = selector === null ? entries : entries.filter((e) => e.RepoTags?.includes(selector));
  const entry = found[0];
  if (!entry || found.length > 1) {
    const tags = entries.flatMap((e) => e.RepoTags ?? []).join(", ");
    throw new Error(
      found.length
        ? `image ${ref}: holds several images (${tags}): name one with :REPO:TAG`
        : `image ${ref}: no image ${selector} in it (${tags})`,
    );
  }
  // The config's file is named after its digest.
  const configHex = posix.basename(entry.Config).replace(/\.json$/, "");
  const configFile = join(dir, entry.Config);
  const config = readVerified(
    configFile,
    { digest: `sha256:${configHex}`, size: statSync(configFile).size },
    ImageConfig,
    ref,
    "config",
  );
  if (config.rootfs.diff_ids.length !== entry.Layers.length)
    throw new Error(
      `image ${ref}: its config lists ${config.rootfs.diff_ids.length} layers, manifest.json ${entry.Layers.length}`,
    );
  const layers = entry.Layers.map((path, i) => {
    const diffId = config.rootfs.diff_ids[i] ?? "";
    const file = join(dir, path);
    // docker save's layers are the uncompressed tars: their digest is the diff id.
    return { digest: diffId, size: -1, diffId, file: () => file };
  });
  return { ref, config, layers, stage };
}

/** The path part of a reference and what follows it (a tag, REPO:TAG or a digest). */
function splitRef(ref: string): { path: string; selector: string | null } {
  const at = ref.indexOf("@sha256:");
  if (at > 0) return { path: ref.slice(0, at), selector: ref.slice(at + 1) };
  if (existsSync(ref)) return { path: ref, selector: null };
  for (let i = ref.indexOf(":"); i > 0; i = ref.indexOf(":", i + 1))
    if (existsSync(ref.slice(0, i))) return { path: ref.slice(0, i), selector: ref.slice(i + 1) };
  throw new Error(`image ${ref}: no such image directory or archive`);
}

/** Metadata is small: the first pass takes only files under this size. */
const METADATA_MAX = 4 << 20;

export function resolveImage(ref: string, staging: () => string): ResolvedImage {
  if (!ref.startsWith("/")) throw new Error(`image ${ref}: needs an absolute path`);
  const { path, selector } = splitRef(ref);
  let dir = path;
  let stage: ResolvedImage["stage"] = () => {};
  if (statSync(path).isFile()) {
    dir = staging();
    const extract = (filter: (p: string, size: number) => boolean) =>
      tar.x({
        sync: true,
        file: path,
        cwd: dir,
        strict: true,
        // Plain files and directories only: an archive's links and devices are no image's business.
        filter: (p, e) =>
          "type" in e && (e.type === "Directory" || (e.type === "File" && filter(p, e.size ?? 0))),
      });
    try {
      extract((_, size) => size < METADATA_MAX);
    } catch (e) {
      throw new Error(`image ${ref}: cannot read the archive: ${(e as Error).message}`);
    }
    stage = (layers) => {
      const wanted = new Set(layers.map((l) => posix.normalize(posix.relative(dir, l.file()))));
      extract((p) => wanted.has(posix.normalize(p)));
    };
  }
  if (existsSync(join(dir, "oci-layout")) && existsSync(join(dir, "index.json")))
    return layoutImage(dir, selector, ref, stage);
  if (existsSync(join(dir, "manifest.json"))) return dockerImage(dir, selector, ref, stage);
  throw new Error(`image ${ref}: neither an OCI image layout nor a docker save archive`);
}
