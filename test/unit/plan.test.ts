import { describe, expect, test } from "bun:test";
import { planInit, usesWaiter } from "../../src/plan/init.ts";
import { planProcess } from "../../src/plan/process.ts";
import { setDiagSinks } from "../../src/diag.ts";
import { defaultSpec } from "../../src/oci/default.ts";
import { ConfigError } from "../../src/oci/errors.ts";
import { parseConfig } from "../../src/oci/validate.ts";
import { MS } from "../../src/sys/constants.ts";

type Json = Record<string, unknown>;

/** A config as parseConfig returns it, from JSON text so that numbers are parsed as they would be. */
function configWith(processExtra: string): ReturnType<typeof parseConfig> {
  return parseConfig(`{
    "ociVersion": "1.2.0",
    "root": { "path": "rootfs" },
    "process": { "user": { "uid": 1000, "gid": 100 }, "args": ["sh", "-c", "true"], "cwd": "/work"${processExtra} }
  }`);
}

function configErrorOf(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("no error thrown");
}

const NO_SCHED = {
  keyring: null,
  seccomp: null,
  oomScoreAdj: null,
  personality: null,
  ioprio: null,
  sched: null,
  cpusInitial: null,
  cpusFinal: null,
  mempolicy: null,
};

const MASK = ((1n << 5n) | (1n << 10n) | (1n << 29n)).toString();

describe("planProcess", () => {
  test("the default spec", () => {
    const plan = planProcess(defaultSpec());
    expect(MASK).toBe("536871968");
    expect(plan).toEqual({
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      uid: 0,
      gid: 0,
      groups: [],
      umask: 18,
      caps: [MASK, MASK, MASK, "0", "0"],
      noNewPrivileges: true,
      rlimits: [[7, "1024", "1024"]],
      terminal: true,
      consoleSize: null,
      ...NO_SCHED,
    });
  });

  test("a minimal process: defaults", () => {
    const plan = planProcess(configWith(""));
    expect(plan).toEqual({
      args: ["sh", "-c", "true"],
      env: [],
      cwd: "/work",
      uid: 1000,
      gid: 100,
      groups: [],
      umask: 0o022,
      caps: ["0", "0", "0", "0", "0"],
      noNewPrivileges: false,
      rlimits: [],
      terminal: false,
      consoleSize: null,
      ...NO_SCHED,
    });
  });

  test("umask, groups and console size are carried over", () => {
    const c = configWith(
      ', "terminal": true, "consoleSize": { "height": 24, "width": 80 }',
    ) as unknown as Json;
    const user = (c.process as Json).user as Json;
    user.umask = 0o077;
    user.additionalGids = [5, 10];
    const plan = planProcess(c as unknown as ReturnType<typeof parseConfig>);
    expect(plan.umask).toBe(63);
    expect(plan.groups).toEqual([5, 10]);
    expect(plan.consoleSize).toEqual({ rows: 24, cols: 80 });
  });

  test("umask 0 is kept, not replaced by the default", () => {
    const c = configWith("");
    c.process.user.umask = 0;
    expect(planProcess(c).umask).toBe(0);
  });

  test("capability masks per set, as decimal strings", () => {
    const plan = planProcess(
      configWith(`, "capabilities": {
        "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"],
        "effective": ["CAP_CHOWN"],
        "permitted": ["CAP_CHECKPOINT_RESTORE", "CAP_SYS_ADMIN"],
        "inheritable": ["CAP_SETFCAP", "CAP_MAC_OVERRIDE"],
        "ambient": ["CAP_SETFCAP", "CAP_MAC_OVERRIDE"]
      }`),
    );
    // Ambient needs permitted and inheritable: neither ambient one is permitted here.
    expect(plan.caps).toEqual([
      MASK,
      "1",
      ((1n << 40n) | (1n << 21n)).toString(),
      ((1n << 31n) | (1n << 32n)).toString(),
      "0",
    ]);
    expect(plan.caps[2]).toBe("1099513724928");
    expect(plan.caps[3]).toBe("6442450944");
  });

  test("ambient capabilities the kernel would not keep are left out with a warning, as runc does", () => {
    const warnings: string[] = [];
    setDiagSinks({ warn: (m) => warnings.push(m) });
    try {
      // What Debian's runc 1.1 `runc spec` writes: ambient without inheritable.
      const caps = '["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]';
      const plan = planProcess(
        configWith(
          `, "capabilities": { "bounding": ${caps}, "effective": ${caps}, "permitted": ${caps}, "ambient": ${caps} }`,
        ),
      );
      expect(plan.caps[4]).toBe("0");
      expect(warnings).toEqual(
        ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"].map(
          (c) =>
            `process.capabilities.ambient: ${c} is not in both the permitted and the inheritable set; the kernel keeps no such ambient capability, so it is left out (as runc does)`,
        ),
      );
      warnings.length = 0;
      const kept = planProcess(
        configWith(
          `, "capabilities": { "permitted": ["CAP_KILL"], "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"] }`,
        ),
      );
      expect(kept.caps[4]).toBe("32");
      expect(warnings).toEqual([]);
    } finally {
      setDiagSinks({});
    }
  });

  test("a capability listed twice counts once", () => {
    const plan = planProcess(configWith(', "capabilities": { "bounding": ["CAP_KILL", "CAP_KILL"] }'));
    expect(plan.caps[0]).toBe("32");
  });

  test("unknown capability refused with its path", () => {
    const e = configErrorOf(() =>
      planProcess(configWith(', "capabilities": { "bounding": ["CAP_FLY", "CAP_KILL"] }')),
    );
    expect(e.path).toBe("process.capabilities.bounding[0]");
    expect(e.message).toBe('process.capabilities.bounding[0]: unknown capability "CAP_FLY"');
  });

  test("unknown capability in a later set and index", () => {
    const e = configErrorOf(() =>
      planProcess(configWith(', "capabilities": { "ambient": ["CAP_KILL", "kill"] }')),
    );
    expect(e.path).toBe("process.capabilities.ambient[1]");
  });

  test("rlimits: resource numbers and limits as strings", () => {
    const plan = planProcess(
      configWith(`, "rlimits": [
        { "type": "RLIMIT_NOFILE", "soft": 1024, "hard": 4096 },
        { "type": "RLIMIT_CORE", "soft": 0, "hard": 18446744073709551615 },
        { "type": "RLIMIT_NPROC", "soft": 18446744073709551615, "hard": 18446744073709551615 },
        { "type": "RLIMIT_MEMLOCK", "soft": 9007199254740993, "hard": 9007199254740993 }
      ]`),
    );
    expect(plan.rlimits).toEqual([
      [7, "1024", "4096"],
      [4, "0", "18446744073709551615"],
      [6, "18446744073709551615", "18446744073709551615"],
      // 2^53 + 1 is not a double: read from the text, it stays exact
      [8, "9007199254740993", "9007199254740993"],
    ]);
  });

  test("rlimit soft above hard is refused with its path", () => {
    const e = configErrorOf(() =>
      planProcess(configWith(', "rlimits": [{ "type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024 }]')),
    );
    expect(e.path).toBe("process.rlimits[0]");
    expect(e.message).toBe("process.rlimits[0]: soft limit 2048 is above the hard limit 1024");
  });

  test("unknown rlimit type is refused with its path", () => {
    const e = configErrorOf(() =>
      planProcess(
        configWith(`, "rlimits": [
          { "type": "RLIMIT_NOFILE", "soft": 1, "hard": 1 },
          { "type": "RLIMIT_BOGUS", "soft": 1, "hard": 1 }
        ]`),
      ),
    );
    expect(e.path).toBe("process.rlimits[1].type");
    expect(e.message).toBe("process.rlimits[1].type: unknown resource RLIMIT_BOGUS");
  });

  test("rlimit type without the RLIMIT_ prefix is refused by the schema", () => {
    const e = configErrorOf(() => configWith(', "rlimits": [{ "type": "NOFILE", "soft": 1, "hard": 1 }]'));
    expect(e.path).toBe("process.rlimits[0].type");
  });
});

describe("scheduling attributes", () => {
  test("ioPriority, scheduler, CPU affinity, personality and oomScoreAdj", () => {
    const c = configWith(
      ', "oomScoreAdj": 500, "ioPriority": { "class": "IOPRIO_CLASS_BE", "priority": 3 }, "scheduler": { "policy": "SCHED_BATCH", "nice": 5, "flags": ["SCHED_FLAG_RESET_ON_FORK"] }, "execCPUAffinity": { "initial": "0-1", "final": "1,3-4" }',
    );
    c.linux = { personality: { domain: "LINUX32" } };
    const plan = planProcess(c);
    expect(plan.oomScoreAdj).toBe(500);
    expect(plan.ioprio).toBe((2 << 13) | 3);
    expect(plan.sched).toEqual(["3", "1", "5", "0", "0", "0", "0"]);
    expect(plan.cpusInitial).toEqual([0, 1]);
    expect(plan.cpusFinal).toEqual([1, 3, 4]);
    expect(plan.personality).toBe(8);
  });

  test("a malformed CPU list names its field", () => {
    const c = configWith(', "execCPUAffinity": { "final": "2-x" }');
    expect(() => planProcess(c)).toThrow('process.execCPUAffinity.final: "2-x" is not a list like "0-3,7"');
  });
});

/** Where a step acts: a symlink's own path, else its target. */
const where = (s: ReturnType<typeof planInit>["steps"][number]) => (s.op === "symlink" ? s.path : s.target);

/** No namespace joined or made but cgroup's. */
const namespaces = {
  cloneFlags: 0,
  joins: [],
  newCgroupns: true,
  userns: null,
  timeOffsets: null,
  joinsUserns: false,
};

describe("the cgroup mount of the default spec", () => {
  const plan = (dirs: { dir: string; mountpoint: string; version: 1 | 2; controllers: string[] }[]) =>
    planInit({
      config: defaultSpec(),
      bundle: "/b",
      rootfs: "/b/rootfs",
      cgroup: { path: "/bunc/c1", dirs },
      namespaces,
      cgroupJoin: [],
      joinEarly: false,
      cacheRoot: null,
      id: "c1",
      noPivot: false,
      noNewKeyring: false,
      notifyDir: null,
      hostRootStage: null,
      hooks: {
        hooks: { createContainer: [], startContainer: [] },
        runtimeHooks: false,
        hookState: { ociVersion: "1.2.0", id: "c1", bundle: "/b", annotations: {} },
      },
    }).steps.filter((s) => where(s).startsWith("/sys/fs/cgroup"));

  test("cgroup v2 only: the container's own cgroup bound read-only on /sys/fs/cgroup", () => {
    const steps = plan([
      { dir: "/sys/fs/cgroup/bunc/c1", mountpoint: "/sys/fs/cgroup", version: 2, controllers: [] },
    ]);
    expect(steps).toEqual([
      {
        op: "mount",
        field: "mounts[6]",
        source: "/sys/fs/cgroup/bunc/c1",
        target: "/sys/fs/cgroup",
        fstype: "",
        flags: MS.BIND,
        data: "",
        file: false,
      },
      {
        op: "remount",
        field: "mounts[6]",
        target: "/sys/fs/cgroup",
        flags: MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RELATIME,
      },
    ]);
  });

  test("v1 and hybrid: a tmpfs with one bind per hierarchy, all made read-only at once", () => {
    const steps = plan([
      {
        dir: "/sys/fs/cgroup/memory/bunc/c1",
        mountpoint: "/sys/fs/cgroup/memory",
        version: 1,
        controllers: ["memory"],
      },
      {
        dir: "/sys/fs/cgroup/cpu,cpuacct/bunc/c1",
        mountpoint: "/sys/fs/cgroup/cpu,cpuacct",
        version: 1,
        controllers: ["cpu", "cpuacct"],
      },
      {
        dir: "/sys/fs/cgroup/unified/bunc/c1",
        mountpoint: "/sys/fs/cgroup/unified",
        version: 2,
        controllers: [],
      },
    ]);
    expect(steps.map((s) => `${s.op} ${where(s)}`)).toEqual([
      "mount /sys/fs/cgroup",
      "mount /sys/fs/cgroup/memory",
      "mount /sys/fs/cgroup/cpu,cpuacct",
      "symlink /sys/fs/cgroup/cpu",
      "symlink /sys/fs/cgroup/cpuacct",
      "mount /sys/fs/cgroup/unified",
      "setattr /sys/fs/cgroup",
    ]);
    expect(steps.at(-1)).toEqual({
      op: "setattr",
      field: "mounts[6]",
      target: "/sys/fs/cgroup",
      set: MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC,
      clr: 0,
    });
  });
});

describe("who waits for start", () => {
  const hooks = {
    hooks: { createContainer: [], startContainer: [] },
    runtimeHooks: false,
    hookState: { ociVersion: "1.2.0", id: "c1", bundle: "/b", annotations: {} },
  };
  const inputs = { namespaces, hooks } as unknown as Parameters<typeof usesWaiter>[0];
  const label = [{ file: "thread-self/attr/exec", value: "exec p", what: "process.apparmorProfile" }];

  test("the waiter, unless a hook, an exec label or a user namespace needs the Bun init", () => {
    expect(usesWaiter(inputs, [])).toBe(true);
    // The label applies to the next execve: the waiter's, were it used.
    expect(usesWaiter(inputs, label)).toBe(false);
    const hook = { ...hooks, hooks: { createContainer: [], startContainer: [{ path: "/bin/true" }] } };
    expect(usesWaiter({ ...inputs, hooks: hook } as typeof inputs, [])).toBe(false);
    const userns = { ...namespaces, userns: { uidMap: "0 1000 1", gidMap: "0 1000 1" } };
    expect(usesWaiter({ ...inputs, namespaces: userns } as unknown as typeof inputs, [])).toBe(false);
    expect(
      usesWaiter({ ...inputs, namespaces: { ...namespaces, joinsUserns: true } } as typeof inputs, []),
    ).toBe(false);
  });
});
