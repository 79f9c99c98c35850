// The unpack plugin in the benchmark: `bunc run` of /bin/true from an OCI
// image of the bench's rootfs (one gzip layer), cold (the layer cache
// pruned before each run) and warm (the layer cached).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tar from "tar";
import { writeLayout } from "../fixtures/images.ts";
import { must } from "./command.ts";
import { fmtMs, type Stat, stat, table } from "./stats.ts";

export const IMAGE_CASES = ["cold: layer unpacked", "warm: layer cached"] as const;
type ImageCase = (typeof IMAGE_CASES)[number];
export type ImageSamples = Record<ImageCase, number[]>;

export const emptyImageSamples = (): ImageSamples =>
  Object.fromEntries(IMAGE_CASES.map((c) => [c, []])) as unknown as ImageSamples;

interface Bunc {
  readonly path: string;
  readonly root: string;
}

export class ImageBench {
  private readonly hooks: string;
  private readonly image: string;
  readonly layerBytes: number;

  constructor(
    tmp: string,
    private readonly bunc: Bunc,
  ) {
    this.hooks = join(tmp, "image-hooks.d");
    this.image = join(tmp, "image");
    mkdirSync(this.hooks, { recursive: true });
    must([bunc.path, "hooks", "install", "unpack", "--dir", this.hooks]);
    const file = join(tmp, "rootfs-layer.tar");
    tar.c({ sync: true, file, cwd: join(tmp, "rootfs") }, ["."]);
    const layer = readFileSync(file);
    this.layerBytes = layer.length;
    writeLayout(this.image, [{ layers: [layer], compress: "gzip", config: { Env: ["PATH=/bin:/usr/bin"] } }]);
  }

  time(bundleFor: (id: string, args: string[]) => string, i: number, s: ImageSamples): void {
    IMAGE_CASES.forEach((c, n) => {
      if (c === "cold: layer unpacked") must([this.bunc.path, "--root", this.bunc.root, "image", "prune"]);
      const id = `bunc-image-${n}-${i}`;
      const bundle = bundleFor(id, ["/bin/true"]);
      const file = join(bundle, "config.json");
      const cfg = JSON.parse(readFileSync(file, "utf8"));
      cfg.annotations = { "bunc.image": this.image };
      writeFileSync(file, JSON.stringify(cfg));
      s[c].push(
        must([
          this.bunc.path,
          "--root",
          this.bunc.root,
          "--hooks-dir",
          this.hooks,
          "run",
          "--bundle",
          bundle,
          id,
        ]).ms,
      );
    });
  }
}

export function printImage(
  s: ImageSamples,
  layerBytes: number,
): { stats: Record<ImageCase, Stat | null>; text: string } {
  const stats = Object.fromEntries(IMAGE_CASES.map((c) => [c, stat(s[c])])) as Record<ImageCase, Stat | null>;
  const rows = [
    [`bunc run of /bin/true from an image (${(layerBytes / 2 ** 20).toFixed(1)} MiB layer)`, "median", "p90"],
  ];
  for (const c of IMAGE_CASES) rows.push([c, fmtMs(stats[c]?.median), fmtMs(stats[c]?.p90)]);
  return { stats, text: table(rows) };
}
