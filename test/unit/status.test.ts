import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { statusOf } from "../../src/lifecycle/status.ts";
import { processStartTime } from "../../src/sys/process.ts";
import type { StoredState } from "../../src/oci/state.ts";

const dir = mkdtempSync("/tmp/bunc-status-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function state(over: Partial<StoredState>): StoredState {
  return {
    ociVersion: "1.3.0",
    id: "x",
    pid: 0,
    pidStartTime: "",
    creatorPid: 0,
    creatorStartTime: "",
    creating: false,
    bundle: "/b",
    rootfs: "/b/rootfs",
    created: new Date().toISOString(),
    owner: "",
    annotations: {},
    cgroup: { path: "/bunc/x", dirs: [] },
    ...over,
  };
}

// This test process stands in for a live init or creator: its start time is real.
const me = process.pid;
const myStart = processStartTime(me) ?? "";

describe("statusOf", () => {
  test("the start time of a live process is read, a missing one is null", () => {
    expect(myStart).toMatch(/^\d+$/);
    expect(processStartTime(0)).toBeNull();
    expect(processStartTime(2 ** 22 + 7)).toBeNull();
  });

  test("creating while the creator lives; stopped once it died without finishing", () => {
    const none = join(dir, "none");
    expect(statusOf(state({ creating: true, creatorPid: me, creatorStartTime: myStart }), none)).toBe(
      "creating",
    );
    expect(statusOf(state({ creating: true, creatorPid: 2 ** 22 + 7 }), none)).toBe("stopped");
  });

  test("a creator pid reused by another process does not keep the container creating", () => {
    const reused = state({ creating: true, creatorPid: me, creatorStartTime: "1" });
    expect(statusOf(reused, join(dir, "none"))).toBe("stopped");
  });

  test("created while the exec fifo waits, running once it is gone", () => {
    const fifo = join(dir, "exec.fifo");
    writeFileSync(fifo, "");
    expect(statusOf(state({ pid: me, pidStartTime: myStart }), fifo)).toBe("created");
    rmSync(fifo);
    expect(statusOf(state({ pid: me, pidStartTime: myStart }), fifo)).toBe("running");
  });

  test("a reused pid (another start time) is not the container's init", () => {
    expect(statusOf(state({ pid: me, pidStartTime: "1" }), join(dir, "none"))).toBe("stopped");
  });
});
