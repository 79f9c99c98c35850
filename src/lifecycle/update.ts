// `update`: new resources for a live container, merged into what it has
// (fields not given keep their values), written to its cgroup, and kept in
// its state so that the next update starts from them.
import { checked } from "../oci/checked.ts";
import { Resources } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";
import { containerCgroup } from "./remains.ts";
import { currentStatus } from "./status.ts";
import type { Store } from "./store.ts";

const isObject = (x: unknown): x is Record<string, unknown> =>
  x !== null && typeof x === "object" && !Array.isArray(x);

/** change over base, one level deep: a group's fields merge, a list replaces the old one. */
export function mergeResources(base: Resources, change: Resources): Resources {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(change)) {
    if (value === undefined) continue;
    const old = out[key];
    out[key] = isObject(value) && isObject(old) ? { ...old, ...value } : value;
  }
  return out as Resources;
}

export function updateContainer(store: Store, id: string, change: Resources): void {
  const lock = store.lock(id);
  try {
    const { state, status } = currentStatus(store, id);
    if (status !== "created" && status !== "running" && status !== "paused")
      throw new Error(`cannot update container ${id}: it is ${status}`);
    const base = state.resources ? checked(Resources, state.resources, ["resources"]) : {};
    // Both came out of the Resources schema, which orders every object's keys
    // alike: their JSON is equal exactly when they are (node:util's deep
    // equality would cost update some 3 ms of start-up).
    if (change.devices !== undefined && JSON.stringify(change.devices) !== JSON.stringify(base.devices ?? []))
      throw new ConfigError(
        "linux.resources.devices",
        "changing the device rules of a live container is not supported by bunc yet",
      );
    const resources = mergeResources(base, change);
    containerCgroup(id, state.cgroup).update(resources);
    store.write({ ...state, resources });
  } finally {
    lock.release();
  }
}
