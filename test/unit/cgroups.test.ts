import { describe, expect, test } from "bun:test";
import { DEFAULT_ALLOWED, deviceEntries, v1Line } from "../../src/cgroups/devices.ts";
import { type Hierarchy, parseHierarchies } from "../../src/cgroups/hierarchy.ts";
import {
  cgroupPathFor,
  DEFAULT_PARENT,
  dirFor,
  systemdCgroupsPath,
  systemdRunning,
} from "../../src/cgroups/path.ts";
import { defaultSpec } from "../../src/oci/default.ts";

// mountinfo lines as a systemd host shows them (proc(5)).
const HYBRID_MOUNTINFO = [
  "22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw",
  "25 22 0:24 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755,inode64",
  "26 25 0:25 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate",
  "27 25 0:26 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd",
  "31 25 0:30 / /sys/fs/cgroup/cpu rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu",
  "32 25 0:31 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory",
  "33 25 0:32 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,devices",
  "",
].join("\n");

const HYBRID_SELF = [
  "5:devices:/user.slice",
  "4:memory:/user.slice/user-1000.slice/session-2.scope",
  "3:cpu:/user.slice",
  "1:name=systemd:/user.slice/user-1000.slice/session-2.scope",
  "0::/user.slice/user-1000.slice/session-2.scope",
  "",
].join("\n");

const V2_MOUNTINFO = [
  "24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw",
  "30 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw",
  "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot",
  "",
].join("\n");

const V2_SELF = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/run-1.scope\n";

const V1_MOUNTINFO = [
  "25 22 0:24 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755",
  "27 25 0:26 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd",
  "30 25 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct",
  "31 25 0:30 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,devices",
  "32 25 0:31 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,net_cls,net_prio",
  // the same hierarchy mounted a second time is listed once
  "40 25 0:29 / /mnt/cpu rw,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct",
  "",
].join("\n");

const V1_SELF = [
  "6:net_cls,net_prio:/",
  "4:devices:/system.slice/docker.service",
  "3:cpuacct,cpu:/system.slice",
  "1:name=systemd:/system.slice/docker.service",
  "",
].join("\n");

describe("parseHierarchies", () => {
  test("hybrid host: v1 controllers and the unified cgroup2 mount", () => {
    const hs = parseHierarchies(HYBRID_MOUNTINFO, HYBRID_SELF);
    expect(hs).toEqual([
      {
        version: 2,
        mountpoint: "/sys/fs/cgroup/unified",
        mountRoot: "/",
        controllers: [],
        ownPath: "/user.slice/user-1000.slice/session-2.scope",
      },
      {
        version: 1,
        mountpoint: "/sys/fs/cgroup/systemd",
        mountRoot: "/",
        controllers: ["name=systemd"],
        ownPath: "/user.slice/user-1000.slice/session-2.scope",
      },
      {
        version: 1,
        mountpoint: "/sys/fs/cgroup/cpu",
        mountRoot: "/",
        controllers: ["cpu"],
        ownPath: "/user.slice",
      },
      {
        version: 1,
        mountpoint: "/sys/fs/cgroup/memory",
        mountRoot: "/",
        controllers: ["memory"],
        ownPath: "/user.slice/user-1000.slice/session-2.scope",
      },
      {
        version: 1,
        mountpoint: "/sys/fs/cgroup/devices",
        mountRoot: "/",
        controllers: ["devices"],
        ownPath: "/user.slice",
      },
    ]);
  });

  test("pure v2 host", () => {
    const hs = parseHierarchies(V2_MOUNTINFO, V2_SELF);
    expect(hs).toEqual([
      {
        version: 2,
        mountpoint: "/sys/fs/cgroup",
        mountRoot: "/",
        controllers: [],
        ownPath: "/user.slice/user-1000.slice/user@1000.service/app.slice/run-1.scope",
      },
    ]);
  });

  test("pure v1 host with co-mounted controllers", () => {
    const hs = parseHierarchies(V1_MOUNTINFO, V1_SELF);
    expect(hs.map((h) => h.mountpoint)).toEqual([
      "/sys/fs/cgroup/systemd",
      "/sys/fs/cgroup/cpu,cpuacct",
      "/sys/fs/cgroup/devices",
      "/sys/fs/cgroup/net_cls,net_prio",
    ]);
    expect(hs.map((h) => h.controllers)).toEqual([
      ["name=systemd"],
      ["cpu", "cpuacct"],
      ["devices"],
      ["net_cls", "net_prio"],
    ]);
    // "cpuacct,cpu" in /proc/self/cgroup matches the "cpu,cpuacct" mount
    expect(hs.map((h) => h.ownPath)).toEqual([
      "/system.slice/docker.service",
      "/system.slice",
      "/system.slice/docker.service",
      "/",
    ]);
    expect(hs.every((h) => h.version === 1 && h.mountRoot === "/")).toBe(true);
  });

  test("mountRoot and octal escapes of the mountpoint", () => {
    const mountinfo =
      "50 40 0:30 /docker/abc /sys/fs/cgroup/my\\040cgroup ro,nosuid - cgroup2 cgroup2 rw\n" +
      "51 40 0:31 /docker/abc /other - cgroup2 cgroup2 rw\n";
    const hs = parseHierarchies(mountinfo, "0::/docker/abc/x\n");
    expect(hs).toEqual([
      {
        version: 2,
        mountpoint: "/sys/fs/cgroup/my cgroup",
        mountRoot: "/docker/abc",
        controllers: [],
        ownPath: "/docker/abc/x",
      },
    ]);
  });

  test("a controller missing from /proc/self/cgroup has ownPath /", () => {
    const hs = parseHierarchies(
      "31 25 0:30 / /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,nosuid,nodev,noexec,relatime,pids\n",
      "",
    );
    expect(hs).toEqual([
      { version: 1, mountpoint: "/sys/fs/cgroup/pids", mountRoot: "/", controllers: ["pids"], ownPath: "/" },
    ]);
  });

  test("no cgroup mounts", () => {
    const hs = parseHierarchies("30 1 259:2 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n", "");
    expect(hs).toEqual([]);
  });
});

function hierarchy(over: Partial<Hierarchy> = {}): Hierarchy {
  return {
    version: 1,
    mountpoint: "/sys/fs/cgroup/devices",
    mountRoot: "/",
    controllers: ["devices"],
    ownPath: "/user.slice",
    ...over,
  };
}

describe("cgroupPathFor", () => {
  const h = hierarchy();

  test("absent: /bunc/<id>", () => {
    expect(DEFAULT_PARENT).toBe("/bunc");
    expect(cgroupPathFor(undefined, "c1", h)).toBe("/bunc/c1");
  });

  test("absolute path as given, normalized", () => {
    expect(cgroupPathFor("/my/group", "c1", h)).toBe("/my/group");
    expect(cgroupPathFor("/my//group/./x", "c1", h)).toBe("/my/group/x");
  });

  test("relative path joined under ownPath", () => {
    expect(cgroupPathFor("my/group", "c1", h)).toBe("/user.slice/my/group");
    expect(cgroupPathFor("x", "c1", hierarchy({ ownPath: "/" }))).toBe("/x");
  });

  test.each(["/a/../b", "..", "a/..", "../x"])("%p with .. is refused", (path) => {
    expect(() => cgroupPathFor(path, "c1", h)).toThrow(
      `linux.cgroupsPath: must not contain ".." (${JSON.stringify(path)})`,
    );
  });

  test("names that merely start with dots are allowed", () => {
    expect(cgroupPathFor("/a/...b", "c1", h)).toBe("/a/...b");
  });

  test("systemd slice:prefix:name form is refused without --systemd-cgroup", () => {
    expect(() => cgroupPathFor("a:b:c", "c1", h)).toThrow(
      'linux.cgroupsPath: systemd "slice:prefix:name" paths need --systemd-cgroup',
    );
    expect(() => cgroupPathFor("system.slice:bunc:c1", "c1", h)).toThrow("--systemd-cgroup");
  });
});

describe("dirFor", () => {
  test("mountRoot /", () => {
    expect(dirFor(hierarchy(), "/bunc/c1")).toBe("/sys/fs/cgroup/devices/bunc/c1");
  });

  test("mountRoot that is not /", () => {
    const h = hierarchy({ mountRoot: "/docker/abc", mountpoint: "/sys/fs/cgroup/devices" });
    expect(dirFor(h, "/docker/abc/bunc/c1")).toBe("/sys/fs/cgroup/devices/bunc/c1");
    expect(dirFor(h, "/docker/abc")).toBe("/sys/fs/cgroup/devices");
    expect(dirFor(h, "/docker/abcd/x")).toBeUndefined();
    expect(dirFor(h, "/bunc/c1")).toBeUndefined();
    expect(dirFor(h, "/docker")).toBeUndefined();
  });

  test("cgroup2 at /sys/fs/cgroup", () => {
    const h = hierarchy({ version: 2, mountpoint: "/sys/fs/cgroup", controllers: [] });
    expect(dirFor(h, "/user.slice/x")).toBe("/sys/fs/cgroup/user.slice/x");
  });
});

describe("devices", () => {
  test("the deny-all rule of the default spec comes first, then the default allow list", () => {
    const entries = deviceEntries(defaultSpec().linux?.resources?.devices);
    expect(entries).toHaveLength(11);
    expect(entries[0]).toEqual({ allow: false, type: "a", major: -1, minor: -1, access: "rwm" });
    expect(entries.slice(1)).toEqual([...DEFAULT_ALLOWED]);
    expect(entries.map(v1Line)).toEqual([
      "a *:* rwm",
      "c *:* m",
      "b *:* m",
      "c 1:3 rwm",
      "c 1:8 rwm",
      "c 1:7 rwm",
      "c 5:0 rwm",
      "c 1:5 rwm",
      "c 1:9 rwm",
      "c 136:* rwm",
      "c 5:2 rwm",
    ]);
    expect(entries.map((e) => e.allow)).toEqual([
      false,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
  });

  test("no rules: just the default allow list", () => {
    expect(deviceEntries(undefined)).toEqual([...DEFAULT_ALLOWED]);
    expect(deviceEntries([])).toHaveLength(10);
  });

  test("config rules keep their values; null major/minor mean any; empty access means rwm", () => {
    const entries = deviceEntries([
      { allow: true, type: "c", major: 10, minor: 200, access: "rw" },
      { allow: false, type: "b", major: 8, minor: null, access: "" },
      { allow: true, type: "c", major: null, minor: 1 },
    ]);
    expect(entries.slice(0, 3).map(v1Line)).toEqual(["c 10:200 rw", "b 8:* rwm", "c *:1 rwm"]);
    expect(entries[0]?.allow).toBe(true);
    expect(entries[1]?.allow).toBe(false);
  });

  test("v1Line formats", () => {
    expect(v1Line({ allow: false, type: "a", major: -1, minor: -1, access: "rwm" })).toBe("a *:* rwm");
    expect(v1Line({ allow: true, type: "c", major: 1, minor: 3, access: "rwm" })).toBe("c 1:3 rwm");
    expect(v1Line({ allow: true, type: "c", major: 136, minor: -1, access: "rwm" })).toBe("c 136:* rwm");
    expect(v1Line({ allow: true, type: "b", major: 0, minor: 0, access: "r" })).toBe("b 0:0 r");
  });
});

describe("edge cases", () => {
  test("an empty cgroupsPath means the default, not the runtime's own cgroup", () => {
    expect(cgroupPathFor("", "c1", hierarchy())).toBe("/bunc/c1");
  });

  test("a first component that only starts with .. is inside the mount", () => {
    expect(dirFor(hierarchy(), "/..foo")).toBe("/sys/fs/cgroup/devices/..foo");
  });

  test("v1 mount options are not taken for controllers", () => {
    const mountinfo =
      "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,noprefix,cpuset_v2_mode\n";
    const [h] = parseHierarchies(mountinfo, "3:cpuset:/x\n");
    expect(h?.controllers).toEqual(["cpuset"]);
    expect(h?.ownPath).toBe("/x");
  });
});

describe("--systemd-cgroup where no systemd runs", () => {
  test.skipIf(systemdRunning())("slice:prefix:name becomes the path systemd would give the unit", () => {
    expect(systemdCgroupsPath("system.slice:docker:abc", "c1")).toBe("/system.slice/docker-abc.scope");
    expect(systemdCgroupsPath("machine-libpod.slice:libpod:abc", "c1")).toBe(
      "/machine.slice/machine-libpod.slice/libpod-abc.scope",
    );
    expect(systemdCgroupsPath("-.slice:crio:x", "c1")).toBe("/crio-x.scope");
    expect(systemdCgroupsPath("user.slice::pod.slice", "c1")).toBe("/user.slice/pod.slice");
    expect(systemdCgroupsPath(undefined, "c1")).toBe("/system.slice/bunc-c1.scope");
    expect(() => systemdCgroupsPath("/plain/path", "c1")).toThrow(
      'linux.cgroupsPath: with --systemd-cgroup it must be slice:prefix:name, not "/plain/path"',
    );
    expect(() => systemdCgroupsPath("a--b.slice:x:y", "c1")).toThrow("is not a valid slice name");
  });
});
