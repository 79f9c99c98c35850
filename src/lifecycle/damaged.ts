// What is left of a container whose state.json bunc cannot read: whatever
// can still be picked out of it or found on disk. Loaded only for such a
// container: it needs the state's schema.
import * as v from "valibot";
import { Cgroup } from "../cgroups/cgroup.ts";
import { DEFAULT_PARENT } from "../cgroups/path.ts";
import { Remains } from "../oci/state.ts";
import type { Processes } from "./signal.ts";

// From text that is no longer JSON (a truncated write, say): the fields
// that can still be picked out of it.
function salvage(text: string): unknown {
  const str = (key: string) => new RegExp(`"${key}":"((?:[^"\\\\]|\\\\.)*)"`).exec(text)?.[1];
  const num = (key: string) => new RegExp(`"${key}":(\\d+)`).exec(text)?.[1];
  const path = /"cgroup":\{"path":"((?:[^"\\]|\\.)*)"/.exec(text)?.[1];
  const dirs = [
    ...text.matchAll(
      /\{"dir":"((?:[^"\\]|\\.)*)"(?:,"mountpoint":"((?:[^"\\]|\\.)*)")?[^}]*?(?:"ino":(\d+))?\}/g,
    ),
  ];
  return {
    pid: Number(num("pid") ?? 0),
    pidStartTime: str("pidStartTime") ?? "",
    cgroup: path
      ? {
          path,
          dirs: dirs.map((m) => ({
            dir: m[1],
            ...(m[2] ? { mountpoint: m[2] } : {}),
            ...(m[3] ? { ino: Number(m[3]) } : {}),
          })),
        }
      : undefined,
  };
}

/**
 * From a state.json bunc cannot read: the init if its pid and start time
 * survive, and the cgroup the state names or, failing that, the one under
 * bunc's default parent that is named after the container. Null when
 * nothing of the container can be found that way.
 */
export function damagedRemains(id: string, raw: unknown, text: string): Processes | null {
  const source = raw !== undefined && typeof raw === "object" ? raw : salvage(text);
  const parsed = v.safeParse(Remains, { ...(source as object), id });
  if (!parsed.success) return null;
  const r = parsed.output;
  const named = r.cgroup.path ? Cgroup.fromState(id, r.cgroup) : null;
  const cgroup = named ?? Cgroup.fromState(id, { path: `${DEFAULT_PARENT}/${id}`, dirs: [] });
  if (!named && !r.pidStartTime && cgroup.empty) return null;
  return { pid: r.pid, pidStartTime: r.pidStartTime, cgroup };
}
