import { describe, expect, test } from "bun:test";
import { PROPAGATION, parseOptions } from "../../src/plan/mountOptions.ts";
import { MOUNT_ATTR, MS } from "../../src/sys/constants.ts";

const parse = (...options: string[]) => parseOptions(options, "mounts[0].options");

describe("MS constants", () => {
  test("match linux/mount.h", () => {
    expect(MS.RDONLY).toBe(1);
    expect(MS.NOSUID).toBe(2);
    expect(MS.NODEV).toBe(4);
    expect(MS.NOEXEC).toBe(8);
    expect(MS.REMOUNT).toBe(32);
    expect(MS.BIND).toBe(4096);
    expect(MS.REC).toBe(16384);
    expect(MS.PRIVATE).toBe(262144);
    expect(MS.SLAVE).toBe(524288);
    expect(MS.SHARED).toBe(1048576);
    expect(MS.UNBINDABLE).toBe(131072);
    expect(MS.RELATIME).toBe(2097152);
    expect(MS.STRICTATIME).toBe(16777216);
  });
});

describe("parseOptions flags", () => {
  test("no options", () => {
    expect(parse()).toEqual({
      flags: 0,
      cleared: 0,
      bind: false,
      recursive: false,
      propagation: [],
      recursiveAttrs: { set: 0, clr: 0 },
      copyUp: false,
      idmap: null,
      data: "",
    });
  });

  test("ro,nosuid,nodev,noexec,relatime", () => {
    const p = parse("ro", "nosuid", "nodev", "noexec", "relatime");
    expect(p.flags).toBe(MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RELATIME);
    expect(p.flags).toBe(1 + 2 + 4 + 8 + 2097152);
    expect(p.cleared).toBe(0);
    expect(p.data).toBe("");
    expect(p.bind).toBe(false);
  });

  test.each([
    ["ro", MS.RDONLY],
    ["nosuid", MS.NOSUID],
    ["nodev", MS.NODEV],
    ["noexec", MS.NOEXEC],
    ["sync", MS.SYNCHRONOUS],
    ["dirsync", MS.DIRSYNC],
    ["mand", MS.MANDLOCK],
    ["noatime", MS.NOATIME],
    ["nodiratime", MS.NODIRATIME],
    ["relatime", MS.RELATIME],
    ["strictatime", MS.STRICTATIME],
    ["nosymfollow", MS.NOSYMFOLLOW],
  ])("%s sets flag %d", (option, flag) => {
    expect(parse(option).flags).toBe(flag);
    expect(parse(option).cleared).toBe(0);
  });

  test.each([
    ["rw", MS.RDONLY],
    ["suid", MS.NOSUID],
    ["dev", MS.NODEV],
    ["exec", MS.NOEXEC],
    ["async", MS.SYNCHRONOUS],
    ["nomand", MS.MANDLOCK],
    ["atime", MS.NOATIME],
    ["diratime", MS.NODIRATIME],
    ["norelatime", MS.RELATIME],
    ["nostrictatime", MS.STRICTATIME],
    ["symfollow", MS.NOSYMFOLLOW],
  ])("%s clears flag %d", (option, flag) => {
    expect(parse(option)).toMatchObject({ flags: 0, cleared: flag });
  });

  test("rw after ro clears ro and records it as cleared", () => {
    const p = parse("ro", "nosuid", "rw");
    expect(p.flags).toBe(MS.NOSUID);
    expect(p.cleared).toBe(MS.RDONLY);
  });

  test("ro after rw sets ro and forgets the clear", () => {
    const p = parse("rw", "ro");
    expect(p.flags).toBe(MS.RDONLY);
    expect(p.cleared).toBe(0);
  });

  test("relatime, noatime and strictatime exclude one another: the last wins", () => {
    expect(parse("relatime", "noatime").flags).toBe(MS.NOATIME);
    expect(parse("noatime", "strictatime").flags).toBe(MS.STRICTATIME);
    expect(parse("strictatime", "relatime", "nosuid").flags).toBe(MS.RELATIME | MS.NOSUID);
  });

  test("defaults, remount and empty options are ignored", () => {
    expect(parse("defaults", "remount", "")).toEqual({
      flags: 0,
      cleared: 0,
      bind: false,
      recursive: false,
      propagation: [],
      recursiveAttrs: { set: 0, clr: 0 },
      copyUp: false,
      idmap: null,
      data: "",
    });
  });
});

describe("parseOptions bind and propagation", () => {
  test("bind", () => {
    expect(parse("bind")).toMatchObject({ bind: true, recursive: false, flags: 0 });
  });

  test("rbind", () => {
    expect(parse("rbind")).toMatchObject({ bind: true, recursive: true });
  });

  test("rbind stays recursive when bind follows", () => {
    expect(parse("rbind", "bind")).toMatchObject({ bind: true, recursive: true });
  });

  test("bind with ro keeps the flag for the remount", () => {
    expect(parse("bind", "ro")).toMatchObject({ bind: true, flags: MS.RDONLY });
  });

  test("propagation options are listed in order", () => {
    expect(parse("rprivate", "shared", "rslave", "unbindable").propagation).toEqual([
      MS.PRIVATE | MS.REC,
      MS.SHARED,
      MS.SLAVE | MS.REC,
      MS.UNBINDABLE,
    ]);
    expect(parse("rprivate").propagation).toEqual([278528]);
  });

  test("PROPAGATION table", () => {
    expect(PROPAGATION).toEqual({
      private: 1 << 18,
      rprivate: (1 << 18) | 16384,
      shared: 1 << 20,
      rshared: (1 << 20) | 16384,
      slave: 1 << 19,
      rslave: (1 << 19) | 16384,
      unbindable: 1 << 17,
      runbindable: (1 << 17) | 16384,
    });
  });

  test("propagation does not touch flags or data", () => {
    expect(parse("rshared", "ro")).toMatchObject({
      flags: MS.RDONLY,
      data: "",
      propagation: [MS.SHARED | MS.REC],
    });
  });
});

describe("parseOptions data", () => {
  test("data options are joined with commas in order", () => {
    const p = parse("nosuid", "strictatime", "mode=755", "size=65536k");
    expect(p.data).toBe("mode=755,size=65536k");
    expect(p.flags).toBe(MS.NOSUID | MS.STRICTATIME);
  });

  test("devpts options of the default spec", () => {
    const p = parse("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5");
    expect(p.data).toBe("newinstance,ptmxmode=0666,mode=0620,gid=5");
    expect(p.flags).toBe(MS.NOSUID | MS.NOEXEC);
  });
});

describe("parseOptions refusals", () => {
  test.each(["copy-symlink", "src-nofollow", "dest-nofollow"])("%s is refused by name", (option) => {
    expect(() => parseOptions(["nosuid", option], "mounts[3].options")).toThrow(
      `mounts[3].options: mount option "${option}" is not supported by bunc yet`,
    );
  });
});

describe("parseOptions recursive attributes and tmpcopyup", () => {
  const A = MOUNT_ATTR;
  test.each([
    [["rro"], A.RDONLY, 0],
    [["rro", "rrw"], 0, A.RDONLY],
    [["rrw", "rro"], A.RDONLY, 0],
    [["rnosuid", "rnodev", "rnoexec"], A.NOSUID | A.NODEV | A.NOEXEC, 0],
    [["rnoatime"], A.NOATIME, A.ATIME],
    [["rnoatime", "rrelatime"], A.RELATIME, A.ATIME],
    [["rstrictatime", "rnosymfollow"], A.STRICTATIME | A.NOSYMFOLLOW, A.ATIME],
    [["rsuid", "rexec", "rdiratime"], 0, A.NOSUID | A.NOEXEC | A.NODIRATIME],
  ] as [string[], number, number][])("%p", (opts, set, clr) => {
    expect(parseOptions(opts, "x").recursiveAttrs).toEqual({ set, clr });
  });

  test("tmpcopyup", () => {
    expect(parseOptions(["tmpcopyup", "mode=755"], "x")).toMatchObject({ copyUp: true, data: "mode=755" });
  });
});
