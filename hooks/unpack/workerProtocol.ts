// What the runtime and the unpack worker (worker.ts) say to each other.
import type { IdShift } from "./apply.ts";
import type { LayerMeta } from "./cache.ts";

export type WorkerRequest =
  | {
      readonly op: "unpack";
      /** The layer's blob, verified against digest and size, its tar against diffId. */
      readonly file: string;
      readonly digest: string;
      readonly size: number;
      readonly diffId: string;
      /** The empty directory to unpack into. */
      readonly dir: string;
      /** The container's mappings: an id outside them is refused by name. */
      readonly shift: IdShift;
    }
  /** Remove these trees, whichever of the namespace's ids own what is in them. */
  | { readonly op: "remove"; readonly paths: readonly string[] }
  /** Make these directories (mode 0755), owned by the namespace's root. */
  | { readonly op: "mkdirs"; readonly paths: readonly string[] };

export type WorkerReply = { readonly meta?: LayerMeta } | { readonly error: string };
