// `events`: a container's statistics as runc prints them, once (--stats) or
// every interval, and an "oom" event each time its OOM kill count rises,
// until the container stops. One JSON object per line, as runc's encoder
// writes them.
import type { Cgroup } from "../cgroups/cgroup.ts";
import { oomKillCount, readStats, type StatsSource, type U64 } from "../cgroups/stats.ts";
import { warn } from "../diag.ts";
import { errorLine } from "../sys/errors.ts";
import { isAlive } from "../sys/process.ts";
import { goJson } from "./gojson.ts";
import { liveContainer } from "./live.ts";
import type { Store } from "./store.ts";

// How often the OOM count and the container's liveness are looked at. The
// count is polled, not watched: cgroup v1 announces OOMs only through an
// eventfd registered in cgroup.event_control (node:fs cannot make an
// eventfd; it would take another C wrapper), and inotify on cgroup2's
// memory.events would cover only one of the two layouts, while the loop
// must poll anyway to see the init die. A few small reads every 100 ms cost next to nothing, and an
// OOM is reported within 100 ms of the kill.
const POLL_MS = 100;

/** runc's types.Event as one line: {"type","id","data"?}. */
export const eventLine = (type: "stats" | "oom", id: string, data?: unknown): string =>
  `${goJson({ type, id, data })}\n`;

/** Where readStats finds the container's files: its controllers and its cgroup2 directory. */
function statsSource(cgroup: Cgroup): StatsSource {
  return {
    controllerDir: (name) => cgroup.controllerDir(name),
    unified: cgroup.state.dirs.find((d) => d.version === 2)?.dir,
  };
}

export interface EventsOptions {
  /** Between stats events, in milliseconds (> 0). */
  readonly intervalMs: number;
  /** One stats event, then return. */
  readonly statsOnly: boolean;
  /** Writes one line. */
  readonly emit: (line: string) => void;
}

/** A count that cannot be read (the cgroup going away) is taken as unchanged. */
function oomCount(memory: ReturnType<Cgroup["controllerDir"]>, last: U64): U64 {
  try {
    return oomKillCount(memory) ?? last;
  } catch {
    return last;
  }
}

/**
 * Streams the container's events until it stops: its init dead and its
 * cgroup empty, or its cgroup removed. A stats read that fails is reported
 * as a warning and skipped, as runc logs it and goes on.
 */
export async function streamEvents(store: Store, id: string, opts: EventsOptions): Promise<void> {
  const { state, cgroup } = liveContainer(store, id);
  const src = statsSource(cgroup);
  if (opts.statsOnly) {
    opts.emit(eventLine("stats", id, readStats(src)));
    return;
  }
  const memory = cgroup.controllerDir("memory");
  // Only OOMs from now on are events, as with runc's eventfd and inotify.
  let ooms = oomCount(memory, 0n);
  let next = performance.now() + opts.intervalMs;
  for (;;) {
    // Whether it has stopped is decided before the count is read, so an OOM
    // kill that ended the container is still reported.
    const stopped = cgroup.empty || (!isAlive(state.pid, state.pidStartTime) && !cgroup.busy());
    const count = oomCount(memory, ooms);
    if (count > ooms) opts.emit(eventLine("oom", id));
    ooms = count;
    if (stopped) return;
    const now = performance.now();
    if (now >= next) {
      let line: string | undefined;
      try {
        line = eventLine("stats", id, readStats(src));
      } catch (e) {
        warn(`stats of container ${id}: ${errorLine(e)}`);
      }
      if (line !== undefined) opts.emit(line);
      // Ticks missed while reading are dropped, as Go's time.Tick drops them.
      next += opts.intervalMs;
      if (next <= now) next = now + opts.intervalMs;
    }
    await Bun.sleep(Math.max(0, Math.min(POLL_MS, next - performance.now())));
  }
}
