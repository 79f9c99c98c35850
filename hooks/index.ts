// The plugins bundled in the bunc binary. Each runs as an ordinary OCI hook
// (`bunc hook NAME`, state on stdin), which `bunc hooks install` registers in
// a hooks.d directory; when the runtime meets such an entry it calls the
// plugin in-process instead of starting a second bunc.
import type { Config } from "../src/oci/config.ts";
import type { PluginStage } from "../src/oci/hooksd.ts";

/** The state JSON a hook reads (runtime-spec state, plus `created` where bunc knows it). */
export interface HookStateJson {
  readonly ociVersion: string;
  readonly id: string;
  readonly status: string;
  readonly pid: number;
  readonly bundle: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly created?: string;
  /** poststop after a foreground `run`: the container process's exit code. */
  readonly exitStatus?: number;
}

/** What the runtime that calls a plugin tells it of itself. */
export interface PluginRuntime {
  /** The runtime's state root (--root). */
  readonly root: string;
}

/**
 * What a plugin may hand back: annotations the container's state gets
 * (createRuntime), or the config to use instead (precreate).
 */
export interface PluginResult {
  readonly annotations?: Readonly<Record<string, string>>;
  readonly config?: Config;
}

export interface BundledPlugin {
  /** One stage; args are those after the plugin's name in the hook entry. */
  run(
    stage: PluginStage,
    state: HookStateJson,
    args: readonly string[],
    config?: Config,
    runtime?: PluginRuntime,
  ): Promise<PluginResult | undefined> | PluginResult | undefined;
}

export interface BundledEntry {
  readonly description: string;
  /** The stages `bunc hooks install` registers it for: the runtime's (and podman's precreate). */
  readonly stages: readonly PluginStage[];
  /** The hooks.d `when` it is installed with (default: always). */
  readonly when?: { readonly annotations: Readonly<Record<string, string>> };
  load(): Promise<BundledPlugin>;
}

export const BUNDLED: Readonly<Record<string, BundledEntry>> = {
  log: {
    description: "a JSON-lines record of each container's lifecycle, to a file, the journal or syslog",
    stages: ["createRuntime", "poststart", "poststop"],
    load: () => import("./log/index.ts").then((m) => m.default),
  },
  unpack: {
    description:
      "the root filesystem from a local image named by the annotation bunc.image (OCI layout or archive, docker save)",
    stages: ["precreate", "poststop"],
    when: { annotations: { "^bunc\\.image$": ".+" } },
    load: () => import("./unpack/index.ts").then((m) => m.default),
  },
  network: {
    description:
      "a bridge network for containers annotated bunc.network=bridge: veth, leased address, route, published ports",
    stages: ["createRuntime", "poststop"],
    // A regular expression, as hooks.d matches annotations.
    when: { annotations: { "^bunc\\.network$": "^bridge$" } },
    load: () => import("./network/index.ts").then((m) => m.default),
  },
};

/** What the stage of a state is when the hook was not told (`bunc hook NAME` with no STAGE). */
export function stageOfStatus(status: string): PluginStage {
  switch (status) {
    case "creating":
      return "createRuntime";
    case "created":
      return "startContainer";
    case "running":
      return "poststart";
    case "stopped":
      return "poststop";
    default:
      throw new Error(`state.status: ${JSON.stringify(status)} is no status of a hook's state`);
  }
}

/** `bunc hook NAME [STAGE] [OPTIONS...]`: what follows the name. */
export function splitHookArgs(rest: readonly string[]): { stage: string | undefined; options: string[] } {
  const [first, ...more] = rest;
  if (first !== undefined && !first.startsWith("-")) return { stage: first, options: more };
  return { stage: undefined, options: [...rest] };
}
