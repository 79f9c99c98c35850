// The image documents bunc reads, as valibot schemas: OCI index, manifest
// and image config, and docker save's manifest.json. Only the fields used.
import * as v from "valibot";

const digest = v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{64}$/, "is not a sha256 digest"));

export const Descriptor = v.object({
  mediaType: v.optional(v.string()),
  digest,
  size: v.pipe(v.number(), v.integer(), v.minValue(0)),
  annotations: v.optional(v.record(v.string(), v.string())),
  platform: v.optional(
    v.object({ os: v.string(), architecture: v.string(), variant: v.optional(v.string()) }),
  ),
});
export type Descriptor = v.InferOutput<typeof Descriptor>;

export const Index = v.object({ manifests: v.array(Descriptor) });

export const Manifest = v.object({
  mediaType: v.optional(v.string()),
  config: Descriptor,
  layers: v.array(Descriptor),
});

export const ImageConfig = v.object({
  config: v.optional(
    v.object({
      Env: v.optional(v.nullable(v.array(v.string()))),
      Cmd: v.optional(v.nullable(v.array(v.string()))),
      Entrypoint: v.optional(v.nullable(v.array(v.string()))),
      WorkingDir: v.optional(v.nullable(v.string())),
      User: v.optional(v.nullable(v.string())),
    }),
  ),
  rootfs: v.object({ type: v.string(), diff_ids: v.array(digest) }),
});
export type ImageConfig = v.InferOutput<typeof ImageConfig>;

export const DockerManifest = v.array(
  v.object({
    Config: v.string(),
    RepoTags: v.optional(v.nullable(v.array(v.string()))),
    Layers: v.array(v.string()),
  }),
);
