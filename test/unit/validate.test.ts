import { describe, expect, test } from "bun:test";
import { defaultSpec } from "../../src/oci/default.ts";
import { ConfigError } from "../../src/oci/errors.ts";
import { parseConfig } from "../../src/oci/validate.ts";

type Json = Record<string, unknown>;

function minimal(): Json {
  return {
    ociVersion: "1.0.2",
    root: { path: "rootfs" },
    process: { user: { uid: 0, gid: 0 }, args: ["sh"], cwd: "/" },
  };
}

/** The ConfigError that parseConfig throws for a config. */
function errorOf(config: unknown): ConfigError {
  const text = typeof config === "string" ? config : JSON.stringify(config);
  try {
    parseConfig(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`parseConfig accepted ${text}`);
}

function withChange(change: (c: Json) => void): Json {
  const c = minimal();
  change(c);
  return c;
}

const proc = (c: Json) => c.process as Json;

describe("parseConfig: valid configs", () => {
  test("a minimal config passes and keeps its values", () => {
    const config = parseConfig(JSON.stringify(minimal()));
    expect(config.ociVersion).toBe("1.0.2");
    expect(config.root).toEqual({ path: "rootfs" });
    expect(config.process.args).toEqual(["sh"]);
    expect(config.process.user).toEqual({ uid: 0, gid: 0 });
    expect(config.process.cwd).toBe("/");
    expect(config.mounts).toBeUndefined();
    expect(config.linux).toBeUndefined();
  });

  test.each(["1.0.0", "1.0.2-dev", "1.1.0", "1.2.1", "1.3.0", "1.3.0+build.5"])(
    "ociVersion %p is accepted",
    (version) => {
      expect(parseConfig(JSON.stringify({ ...minimal(), ociVersion: version })).ociVersion).toBe(version);
    },
  );

  test("unknown top-level and nested properties are ignored", () => {
    const c = withChange((c) => {
      c.somethingNew = { x: 1 };
      c.vendorExtension = [1, 2, 3];
      proc(c).futureField = true;
    });
    const config = parseConfig(JSON.stringify(c)) as unknown as Json;
    expect(config.somethingNew).toBeUndefined();
    expect(config.vendorExtension).toBeUndefined();
    expect(proc(config).futureField).toBeUndefined();
    expect(proc(config).args).toEqual(["sh"]);
  });

  test("empty values of unsupported fields are accepted", () => {
    const c = withChange((c) => {
      c.linux = {
        sysctl: {},
        resources: { memory: {}, cpu: {}, pids: {}, hugepageLimits: [] },
        uidMappings: [],
      };
      c.hooks = {};
      c.mounts = [{ destination: "/x", type: "tmpfs", uidMappings: [], gidMappings: [] }];
      proc(c).apparmorProfile = "";
    });
    const config = parseConfig(JSON.stringify(c));
    expect(config.linux?.sysctl).toEqual({});
    expect(config.linux?.resources?.memory).toEqual({});
    expect(config.mounts?.[0]?.uidMappings).toEqual([]);
  });

  test("supported linux fields pass through", () => {
    const c = withChange((c) => {
      c.linux = {
        namespaces: [{ type: "pid" }, { type: "network", path: "/proc/1/ns/net" }],
        cgroupsPath: "/my/cgroup",
        rootfsPropagation: "rslave",
        resources: { devices: [{ allow: false, access: "rwm" }] },
      };
    });
    const config = parseConfig(JSON.stringify(c));
    expect(config.linux?.namespaces).toEqual([{ type: "pid" }, { type: "network", path: "/proc/1/ns/net" }]);
    expect(config.linux?.cgroupsPath).toBe("/my/cgroup");
    expect(config.linux?.rootfsPropagation).toBe("rslave");
  });
});

describe("parseConfig: errors name the JSON path", () => {
  test("invalid JSON is refused", () => {
    const e = errorOf("{ not json");
    expect(e.path).toBe("");
    expect(e.message).toStartWith("config.json is not valid JSON");
  });

  test("a JSON value that is not an object is refused", () => {
    expect(errorOf("42").message).toStartWith("config.json: ");
  });

  test("missing process.args", () => {
    const e = errorOf(withChange((c) => delete proc(c).args));
    expect(e.path).toBe("process.args");
    expect(e.message).toBe("process.args: is required");
  });

  test("empty process.args passes validation: an image may supply it at precreate (the plan refuses it)", () => {
    expect(() => parseConfig(JSON.stringify(withChange((c) => (proc(c).args = []))))).not.toThrow();
  });

  test("missing process", () => {
    expect(errorOf(withChange((c) => delete c.process)).message).toBe("process: is required");
  });

  test("missing ociVersion", () => {
    expect(errorOf(withChange((c) => delete c.ociVersion)).message).toBe("ociVersion: is required");
  });

  test("wrong type of process.user.uid", () => {
    const e = errorOf(withChange((c) => ((proc(c).user as Json).uid = "0")));
    expect(e.path).toBe("process.user.uid");
    expect(e.message).toStartWith("process.user.uid: ");
  });

  test("negative process.user.gid", () => {
    const e = errorOf(withChange((c) => ((proc(c).user as Json).gid = -1)));
    expect(e.message).toStartWith("process.user.gid: ");
  });

  test("relative process.cwd", () => {
    const e = errorOf(withChange((c) => (proc(c).cwd = "tmp")));
    expect(e.message).toBe("process.cwd: must be an absolute path");
  });

  test("env entry without =", () => {
    const e = errorOf(withChange((c) => (proc(c).env = ["A=1", "B"])));
    expect(e.message).toBe("process.env[1]: must be KEY=VALUE");
  });

  test("unknown namespace type", () => {
    const e = errorOf(withChange((c) => (c.linux = { namespaces: [{ type: "pid" }, { type: "foo" }] })));
    expect(e.path).toBe("linux.namespaces[1].type");
    expect(e.message).toStartWith("linux.namespaces[1].type: ");
  });

  test("empty mount destination", () => {
    const e = errorOf(withChange((c) => (c.mounts = [{ destination: "/a" }, { destination: "" }])));
    expect(e.message).toBe("mounts[1].destination: must not be empty");
  });

  test("device access with letters other than rwm", () => {
    const e = errorOf(
      withChange((c) => (c.linux = { resources: { devices: [{ allow: true, access: "rwx" }] } })),
    );
    expect(e.message).toBe("linux.resources.devices[0].access: must be made of r, w and m");
  });

  test.each(["2.0.0", "0.9.0", "1.4.0", "1", "1.0", "v1.0.0", ""])("ociVersion %p is refused", (version) => {
    const e = errorOf({ ...minimal(), ociVersion: version });
    expect(e.path).toBe("ociVersion");
    expect(e.message).toBe(
      `ociVersion: unsupported version ${JSON.stringify(version)}; bunc runs 1.0 to 1.3`,
    );
  });
});

describe("parseConfig: linux.resources", () => {
  const bad: [string, unknown, string][] = [
    ["memory.swappiness", { memory: { swappiness: 200 } }, "must be from 0 to 100"],
    ["cpu.cpus", { cpu: { cpus: "0-x" } }, 'must be a list like "0-3,5"'],
    ["blockIO.weight", { blockIO: { weight: 5 } }, "must be from 10 to 1000 (0 leaves it unset)"],
    [
      "hugepageLimits[0].pageSize",
      { hugepageLimits: [{ pageSize: "2M", limit: 1 }] },
      'must be a size like "2MB" or "1GB"',
    ],
    ['unified["../x"]', { unified: { "../x": "1" } }, 'must be a cgroup2 file name like "memory.high"'],
    ["cpu.idle", { cpu: { idle: 2 } }, ""],
  ];
  test.each(bad)("%s is refused by its path", (path, resources, message) => {
    const e = errorOf(withChange((c) => (c.linux = { resources } as never)));
    expect(e.message).toStartWith(`linux.resources.${path}: ${message}`);
  });

  test("a memory limit beyond 2^53 is read exactly", () => {
    const text = JSON.stringify({ ...JSON.parse(JSON.stringify(withChange(() => {}))) }).replace(
      /}$/,
      ',"linux":{"resources":{"memory":{"limit":9223372036854771712}}}}',
    );
    expect(parseConfig(text).linux?.resources?.memory?.limit).toBe(9223372036854771712n);
  });
});

describe("parseConfig: hooks", () => {
  test.each([
    ["prestart[0].path", { prestart: [{ path: "relative" }] }, "must be an absolute path"],
    ["poststop[1].timeout", { poststop: [{ path: "/a" }, { path: "/b", timeout: 0 }] }, ""],
    ["createRuntime[0].args", { createRuntime: [{ path: "/a", args: "x" }] }, ""],
  ])("hooks.%s is refused by its path", (path, hooks, message) => {
    const e = errorOf(withChange((c) => (c.hooks = hooks as never)));
    expect(e.message).toStartWith(`hooks.${path}: ${message}`);
  });
});

describe("parseConfig: unsupported fields are refused by path", () => {
  const cases: [string, (c: Json) => void][] = [
    ["linux.intelRdt", (c) => (c.linux = { intelRdt: { closID: "x" } })],
    ["linux.netDevices", (c) => (c.linux = { netDevices: { eth0: {}, eth1: { name: "x" } } })],
  ];
  test.each(cases)("%s", (path, change) => {
    const e = errorOf(withChange(change));
    expect(e.path).toBe(path);
    expect(e.message).toStartWith(`${path}: `);
    expect(e.message).toContain("not supported");
  });

  test("an unsupported field is refused only after the schema passes", () => {
    const e = errorOf(
      withChange((c) => {
        c.linux = { intelRdt: { closID: "x" } };
        proc(c).cwd = "relative";
      }),
    );
    expect(e.path).toBe("process.cwd");
  });
});

describe("defaultSpec", () => {
  test("passes parseConfig unchanged", () => {
    const spec = defaultSpec();
    expect(parseConfig(JSON.stringify(spec))).toEqual(spec);
  });

  test("has the runc starter values", () => {
    const spec = defaultSpec();
    expect(spec.ociVersion).toBe("1.3.0");
    expect(spec.process.args).toEqual(["sh"]);
    expect(spec.root).toEqual({ path: "rootfs", readonly: true });
    expect(spec.linux?.resources?.devices).toEqual([{ allow: false, access: "rwm" }]);
    expect(spec.linux?.namespaces?.map((n) => n.type)).toEqual([
      "pid",
      "network",
      "ipc",
      "uts",
      "mount",
      "cgroup",
    ]);
  });

  test("returns a fresh object each call", () => {
    const a = defaultSpec();
    a.process.args.push("x");
    expect(defaultSpec().process.args).toEqual(["sh"]);
  });
});

describe("parseConfig: edge cases", () => {
  test("an object whose values are all empty asks for nothing", () => {
    expect(() =>
      parseConfig(
        JSON.stringify(
          withChange((c) => {
            c.hooks = { prestart: [] };
          }),
        ),
      ),
    ).not.toThrow();
  });

  test("ociVersion with a leading zero is not semver", () => {
    expect(errorOf(withChange((c) => (c.ociVersion = "1.03.0"))).path).toBe("ociVersion");
  });
});
