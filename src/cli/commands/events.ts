import { writeSync } from "node:fs";
import { defineCommand } from "citty";
import { streamEvents } from "../../lifecycle/events.ts";
import { idArg, idOf, rejectUnknownFlags, store } from "../command.ts";
import { parseDuration } from "../duration.ts";

// A stream's reader may have left stdout non-blocking: a full pipe is waited out, not an error.
function writeAll(text: string): void {
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(1, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Bun.sleepSync(1);
    }
  }
}

export default defineCommand({
  meta: {
    name: "events",
    description: "print a container's stats and OOM kills as JSON lines until it stops",
  },
  args: {
    ...idArg,
    interval: {
      type: "string",
      default: "5s",
      description: "time between stats, in Go's duration syntax (100ms, 5s, 1m30s)",
    },
    stats: { type: "boolean", description: "print the container's stats once and exit" },
  },
  async run(ctx) {
    rejectUnknownFlags(ctx);
    let ns: bigint;
    try {
      ns = parseDuration(ctx.args.interval);
    } catch (e) {
      throw new Error(`--interval: ${(e as Error).message}`);
    }
    if (ns <= 0n) throw new Error("duration interval must be greater than 0");
    await streamEvents(store(), idOf(ctx.args), {
      intervalMs: Number(ns) / 1e6,
      statsOnly: ctx.args.stats === true,
      emit: writeAll,
    });
  },
});
