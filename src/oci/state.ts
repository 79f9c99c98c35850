// state.json in a container's state directory: what `create` recorded, from
// which every command computes the container's current status.
import * as v from "valibot";
import { Hook } from "./hook.ts";

export const CgroupState = v.object({
  path: v.string(),
  dirs: v.array(
    v.object({
      dir: v.string(),
      mountpoint: v.string(),
      version: v.picklist([1, 2]),
      controllers: v.array(v.string()),
      /** The directory's inode once made: delete and kill act only on the directory create made. */
      ino: v.optional(v.number()),
    }),
  ),
});

/** A hook kept for a later stage, with the hooks.d file it came from when it is a plugin's. */
const StoredHook = v.object({ ...Hook.entries, plugin: v.optional(v.string()) });

export const StoredState = v.object({
  ociVersion: v.string(),
  id: v.string(),
  /** 0 while creating. */
  pid: v.number(),
  /** Start time of pid (field 22 of /proc/<pid>/stat), so a reused pid is not mistaken for the init. */
  pidStartTime: v.string(),
  /** The `create` process while creating; its death before ready means the container never came up. */
  creatorPid: v.number(),
  /** Its start time, so a reused pid does not keep the container "creating" forever. */
  creatorStartTime: v.string(),
  creating: v.boolean(),
  bundle: v.string(),
  rootfs: v.string(),
  created: v.string(),
  owner: v.string(),
  annotations: v.record(v.string(), v.string()),
  cgroup: CgroupState,
  /**
   * linux.resources as last applied (create, then each update), which a
   * later update starts from; checked there (the short verbs do not build
   * the config's schema).
   */
  resources: v.optional(v.record(v.string(), v.unknown())),
  /** The hooks of the stages after create, chosen at create (config and plugins). */
  hooks: v.optional(
    v.object({
      startContainer: v.optional(v.array(StoredHook)),
      poststart: v.optional(v.array(StoredHook)),
      poststop: v.optional(v.array(StoredHook)),
    }),
  ),
});

/**
 * The part of a state.json needed to end a container's processes and remove
 * its cgroup, read leniently: for `delete --force` of a state another
 * version of bunc wrote.
 */
export const Remains = v.object({
  id: v.string(),
  pid: v.fallback(v.number(), 0),
  pidStartTime: v.fallback(v.string(), ""),
  cgroup: v.fallback(
    v.object({
      path: v.string(),
      dirs: v.array(
        v.object({ dir: v.string(), mountpoint: v.optional(v.string()), ino: v.optional(v.number()) }),
      ),
    }),
    { path: "", dirs: [] },
  ),
});

export type CgroupState = v.InferOutput<typeof CgroupState>;
export type Remains = v.InferOutput<typeof Remains>;
export type StoredState = v.InferOutput<typeof StoredState>;

/** runc's statuses, and "damaged" for a state bunc cannot read (`list` only). */
export type Status = "creating" | "created" | "running" | "paused" | "stopped" | "damaged";

/** runc's `state` output (and each entry of `list --format json`). */
export interface StateOutput {
  ociVersion: string;
  id: string;
  pid: number;
  status: Status;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations: Record<string, string>;
}
