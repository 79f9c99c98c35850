// Hostile root filesystems: images whose symlinks point at the host, by an
// absolute path or through "..", exactly where bunc mounts, makes device
// nodes, masks paths or changes directory. Whatever bunc makes of such an
// image, it happens inside the rootfs or not at all: a refusal is one line and
// exit 1; a container it creates has everything resolved in its root; the host
// (a sentinel directory each test owns, the host's mount table) is untouched.
import { describe, expect, test } from "bun:test";
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { Config } from "../../src/oci/config.ts";
import { type Result, useTestEnv } from "./harness.ts";

const env = useTestEnv();

/** One test's own ground: its copy of the rootfs and the host directory the image aims at. */
interface Ground {
  readonly dir: string;
  /** The test's copy of the rootfs, made hostile by the test. */
  readonly rootfs: string;
  /** The sentinel on the host: a directory with a file and a subdirectory. */
  readonly host: string;
  /** A sentinel file on the host, outside the sentinel directory. */
  readonly hostFile: string;
}

let grounds = 0;
function ground(): Ground {
  const dir = join(env.dir, `hostile-${++grounds}`);
  const rootfs = join(dir, "rootfs");
  const host = join(dir, "host");
  const hostFile = join(dir, "host-file");
  cpSync(env.rootfs, rootfs, { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(host, "sub"), { recursive: true });
  writeFileSync(join(host, "file"), "host file\n");
  writeFileSync(join(host, "sub", "file"), "host sub file\n");
  writeFileSync(hostFile, "host file\n");
  return { dir, rootfs, host, hostFile };
}

/** A relative link target that climbs out of any rootfs on the host, then descends to `hostPath`. */
const climb = (hostPath: string) => `${"../".repeat(12)}${hostPath.slice(1)}`;

/** Makes `hostPath` exist inside the rootfs too, so that a link to it resolves when taken in the root. */
function mirror(g: Ground, hostPath: string, files: Record<string, string> = {}): string {
  const inside = join(g.rootfs, hostPath);
  mkdirSync(inside, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(inside, name), text);
  return inside;
}

/** Every entry under `path`, not following symlinks, with all that would show a change or a mount on it. */
function tree(path: string, skip: readonly string[] = []): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    if (skip.includes(p)) return;
    const st = lstatSync(p);
    const content = st.isFile() ? readFileSync(p, "utf8") : st.isSymbolicLink() ? readlinkSync(p) : "";
    out.push(
      `${p} dev=${st.dev} ino=${st.ino} mode=${st.mode.toString(8)} rdev=${st.rdev} size=${st.size} mtime=${st.mtimeMs} ctime=${st.ctimeMs} ${JSON.stringify(content)}`,
    );
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e));
  };
  walk(path);
  return out;
}

/** The host's mount table: where, what, with which options. */
function hostMounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(" - "))
    .map((l) => {
      const [pre = "", post = ""] = l.split(" - ");
      const f = pre.split(" ");
      return `${f[4]} root=${f[3]} ${f[5]} ${post.split(" ")[0]}`;
    })
    .sort();
}

/** The container's mounts as it sees them: [mount point, fstype]. */
function containerMounts(pid: number): [string, string][] {
  return containerMountOptions(pid).map(([at, type]) => [at, type]);
}

/** The container's mounts as it sees them: [mount point, fstype, mount options]. */
function containerMountOptions(pid: number): [string, string, string[]][] {
  return readFileSync(`/proc/${pid}/mountinfo`, "utf8")
    .split("\n")
    .filter((l) => l.includes(" - "))
    .map((l) => {
      const [pre = "", post = ""] = l.split(" - ");
      const f = pre.split(" ");
      return [f[4] ?? "", post.split(" ")[0] ?? "", (f[5] ?? "").split(",")];
    });
}

/** What must not change on the host: the test's directory but its rootfs copy, the bundle, the mount table, /. */
function hostView(g: Ground, bundle: string): Record<string, string[]> {
  return {
    ground: tree(g.dir, [g.rootfs]),
    bundle: tree(bundle),
    mounts: hostMounts(),
    slash: [
      ...tree(
        "/",
        readdirSync("/").map((e) => `/${e}`),
      ),
      ...readdirSync("/").sort(),
    ],
    mountsOfEnv: hostMounts().filter((m) => m.includes(env.dir)),
  };
}

/**
 * Creates a container from the test's hostile image; while it exists
 * (created, never started) the host is checked and `inside` may look at the
 * container; it is then deleted and the host checked again. Returns create's
 * result.
 */
function hostile(
  g: Ground,
  edit: (c: Config) => void,
  inside: (pid: number) => void = () => {},
  args: readonly string[] = ["true"],
): Result {
  const id = env.id("hostile");
  const bundle = env.bundle(id, args, (c) => {
    c.root = { path: g.rootfs, readonly: false };
    edit(c);
  });
  const before = hostView(g, bundle);
  expect(before.mountsOfEnv).toEqual([]);
  let r: Result;
  try {
    r = env.bunc(["create", "--bundle", bundle, id]);
    if (r.code === 0) {
      expect(hostView(g, bundle)).toEqual(before);
      inside(env.state(id).pid);
      expect(hostView(g, bundle)).toEqual(before);
    }
  } finally {
    env.bunc(["delete", "--force", id]);
  }
  expect(hostView(g, bundle)).toEqual(before);
  expect(env.leftovers()).toEqual([]);
  return r;
}

/** Either a refusal, one line and exit 1, or a created container: says which. */
function created(r: Result): boolean {
  if (r.code === 0) {
    expect(r.stderr).toBe("");
    return true;
  }
  expect(r.stderr).toMatch(/^bunc: [^\n]+\n$/);
  expect(r.code).toBe(1);
  return false;
}

/** The sentinel is still a plain writable host directory, and nothing covers its file. */
function expectWritable(g: Ground): void {
  for (const dir of [g.host, join(g.host, "sub")]) {
    const probe = join(dir, "probe");
    writeFileSync(probe, "w");
    expect(readFileSync(probe, "utf8")).toBe("w");
    rmSync(probe);
  }
  writeFileSync(join(g.host, "file"), "host file\n");
  expect(statSync(join(g.host, "file")).isFile()).toBe(true);
}

const withoutDevTmpfs = (c: Config) => {
  c.mounts = c.mounts!.filter((m) => m.destination !== "/dev");
};

describe("a /proc that is a symlink out of the rootfs", () => {
  const cases: [string, (g: Ground) => string, boolean][] = [
    ["to a host directory by absolute path", (g) => g.host, false],
    ["to a host directory by absolute path that also exists in the rootfs", (g) => g.host, true],
    ["to the host's /", () => "/", false],
    ["to the host's /proc through ..", () => climb("/proc"), false],
    ["to a host directory through .. that also exists in the rootfs", (g) => climb(g.host), true],
  ];
  test.each(cases)("%s: proc is mounted in the rootfs or not at all", (_, link, inRoot) => {
    const g = ground();
    rmSync(join(g.rootfs, "proc"), { recursive: true });
    const target = link(g);
    symlinkSync(target, join(g.rootfs, "proc"));
    if (inRoot) mirror(g, g.host);
    const r = hostile(
      g,
      () => {},
      (pid) => {
        const procs = containerMounts(pid).filter(([, type]) => type === "proc");
        expect(procs.length).toBeGreaterThan(0);
        // Taken in the root, the link leads to the rootfs's copy of the host path.
        if (inRoot) {
          expect(procs.map(([at]) => at)).toContain(g.host);
          expect(existsSync(`/proc/${pid}/root${g.host}/1/status`)).toBe(true);
          // Reached through the link, the proc mount is still masked and read-only where asked.
          const sys = containerMountOptions(pid).findLast(([at]) => at === `${g.host}/sys`);
          expect(sys?.[2]).toContain("ro");
          const keys = statSync(`/proc/${pid}/root${g.host}/keys`);
          expect(keys.isCharacterDevice() && keys.rdev === 259).toBe(true);
        }
      },
    );
    if (inRoot) expect(created(r)).toBe(true);
    else created(r);
    expect(readdirSync(g.host).sort()).toEqual(["file", "sub"]);
  });
});

describe("a /dev that is a symlink out of the rootfs", () => {
  const cases: [string, (c: Config) => void, (g: Ground) => string, boolean][] = [
    ["/dev a tmpfs, link by absolute path", () => {}, (g) => g.host, false],
    ["/dev a tmpfs, link by absolute path that also exists in the rootfs", () => {}, (g) => g.host, true],
    ["/dev the rootfs's own, link by absolute path", withoutDevTmpfs, (g) => g.host, false],
    [
      "/dev the rootfs's own, link by absolute path that exists in the rootfs",
      withoutDevTmpfs,
      (g) => g.host,
      true,
    ],
    ["/dev the rootfs's own, link through ..", withoutDevTmpfs, (g) => climb(g.host), false],
    [
      "/dev the rootfs's own, link through .. that exists in the rootfs",
      withoutDevTmpfs,
      (g) => climb(g.host),
      true,
    ],
  ];
  test.each(cases)("%s: no node or link is made in the host directory", (_, edit, link, inRoot) => {
    const g = ground();
    rmSync(join(g.rootfs, "dev"), { recursive: true });
    symlinkSync(link(g), join(g.rootfs, "dev"));
    const inside = inRoot ? mirror(g, g.host) : "";
    const r = hostile(g, edit, (pid) => {
      if (!inRoot) return;
      // Taken in the root, /dev is the rootfs's copy of the host path.
      const nul = statSync(`/proc/${pid}/root${g.host}/null`);
      expect(nul.isCharacterDevice() && nul.rdev === 259).toBe(true);
      expect(readlinkSync(`/proc/${pid}/root${g.host}/fd`)).toBe("/proc/self/fd");
      const mounts = containerMounts(pid);
      expect(mounts).toContainEqual([`${g.host}/pts`, "devpts"]);
      expect(mounts).toContainEqual([`${g.host}/mqueue`, "mqueue"]);
    });
    if (inRoot) expect(created(r)).toBe(true);
    else created(r);
    expect(readdirSync(g.host).sort()).toEqual(["file", "sub"]);
    // Without a tmpfs on /dev, the nodes went into the rootfs's copy of the path.
    if (inRoot && edit === withoutDevTmpfs) {
      const nul = lstatSync(join(inside, "null"));
      expect(nul.isCharacterDevice() && nul.rdev === 259).toBe(true);
    }
  });
});

describe("a mount target below a symlinked directory that leaves the rootfs", () => {
  const cases: [string, (g: Ground) => string, boolean][] = [
    ["link by absolute path", (g) => g.host, false],
    ["link by absolute path that also exists in the rootfs", (g) => g.host, true],
    ["link through ..", (g) => climb(g.host), false],
    ["link through .. that exists in the rootfs", (g) => climb(g.host), true],
  ];
  test.each(cases)("%s: nothing is made or mounted in the host directory", (_, link, inRoot) => {
    const g = ground();
    symlinkSync(link(g), join(g.rootfs, "mnt"));
    const source = join(g.dir, "source");
    mkdirSync(source);
    writeFileSync(join(source, "from-source"), "bound\n");
    const inside = inRoot ? mirror(g, g.host) : "";
    const r = hostile(
      g,
      (c) => {
        c.mounts!.push(
          { destination: "/mnt/x", type: "tmpfs", source: "tmpfs", options: ["size=1m"] },
          { destination: "/mnt/sub/deeper/y", type: "bind", source, options: ["bind"] },
          { destination: "/mnt/file", type: "bind", source: join(source, "from-source"), options: ["bind"] },
        );
      },
      (pid) => {
        const mounts = containerMounts(pid);
        expect(mounts).toContainEqual([`${g.host}/x`, "tmpfs"]);
        expect(mounts.map(([at]) => at)).toContain(`${g.host}/sub/deeper/y`);
        expect(readFileSync(`/proc/${pid}/root${g.host}/sub/deeper/y/from-source`, "utf8")).toBe("bound\n");
        expect(readFileSync(`/proc/${pid}/root${g.host}/file`, "utf8")).toBe("bound\n");
      },
    );
    if (inRoot) expect(created(r)).toBe(true);
    else created(r);
    expect(readdirSync(g.host).sort()).toEqual(["file", "sub"]);
    expect(readdirSync(join(g.host, "sub"))).toEqual(["file"]);
    expect(readFileSync(join(g.host, "file"), "utf8")).toBe("host file\n");
    if (inRoot) {
      expect(statSync(join(inside, "x")).isDirectory()).toBe(true);
      expect(statSync(join(inside, "sub/deeper/y")).isDirectory()).toBe(true);
    }
  });
});

describe("a bind mount whose destination is a symlink climbing out with ..", () => {
  const cases: [string, boolean][] = [
    ["the path it names does not exist in the rootfs", false],
    ["the path it names exists in the rootfs", true],
  ];
  test.each(cases)("%s: the bind lands in the rootfs", (_, inRoot) => {
    const g = ground();
    symlinkSync(climb(g.host), join(g.rootfs, "escape"));
    symlinkSync(climb(g.hostFile), join(g.rootfs, "escape-file"));
    const source = join(g.dir, "source");
    mkdirSync(source);
    writeFileSync(join(source, "from-source"), "bound\n");
    if (inRoot) {
      mirror(g, g.host, { file: "rootfs file\n" });
      writeFileSync(join(g.rootfs, g.hostFile), "rootfs file\n");
    }
    const r = hostile(
      g,
      (c) => {
        c.mounts!.push(
          { destination: "/escape", type: "bind", source, options: ["rbind", "ro"] },
          {
            destination: "/escape-file",
            type: "bind",
            source: join(source, "from-source"),
            options: ["bind"],
          },
        );
      },
      (pid) => {
        const at = containerMounts(pid).map(([p]) => p);
        expect(at).toContain(g.host);
        expect(readdirSync(`/proc/${pid}/root${g.host}`)).toEqual(["from-source"]);
        expect(readFileSync(`/proc/${pid}/root${g.host}/from-source`, "utf8")).toBe("bound\n");
        expect(at).toContain(g.hostFile);
        expect(readFileSync(`/proc/${pid}/root${g.hostFile}`, "utf8")).toBe("bound\n");
      },
    );
    if (inRoot) expect(created(r)).toBe(true);
    else created(r);
    expect(readdirSync(g.host).sort()).toEqual(["file", "sub"]);
    expect(readFileSync(join(g.host, "file"), "utf8")).toBe("host file\n");
    expect(readFileSync(g.hostFile, "utf8")).toBe("host file\n");
    // Under the binds, the rootfs's own copies are as they were.
    if (inRoot) {
      expect(readFileSync(join(g.rootfs, g.host, "file"), "utf8")).toBe("rootfs file\n");
      expect(readFileSync(join(g.rootfs, g.hostFile), "utf8")).toBe("rootfs file\n");
    }
    expectWritable(g);
  });
});

describe("a /dev/null that is a symlink, with the rootfs's own /dev", () => {
  const cases: [string, (g: Ground) => string, boolean][] = [
    ["to a host file by absolute path", (g) => join(g.host, "file"), false],
    ["to a host file by absolute path, a plain file in the rootfs", (g) => join(g.host, "file"), true],
    ["to a host file through ..", (g) => climb(join(g.host, "file")), false],
    ["to a host file through .., a plain file in the rootfs", (g) => climb(join(g.host, "file")), true],
  ];
  test.each(cases)("%s: masking uses the real null device or is refused", (_, link, inRoot) => {
    const g = ground();
    symlinkSync(link(g), join(g.rootfs, "dev/null"));
    const inside = inRoot ? mirror(g, g.host, { file: "rootfs file\n" }) : "";
    const r = hostile(
      g,
      (c) => {
        withoutDevTmpfs(c);
        c.linux!.maskedPaths = ["/proc/keys", "/proc/timer_list", "/proc/acpi"];
      },
      (pid) => {
        // Masked files are covered by the null device, and nothing else.
        for (const p of ["/proc/keys", "/proc/timer_list"]) {
          const st = statSync(`/proc/${pid}/root${p}`);
          expect(st.isCharacterDevice() && st.rdev === 259).toBe(true);
        }
      },
    );
    if (!created(r)) expect(r.stderr).toContain("/dev/null");
    expect(readFileSync(join(g.host, "file"), "utf8")).toBe("host file\n");
    if (inRoot) expect(readFileSync(join(inside, "file"), "utf8")).toBe("rootfs file\n");
    expectWritable(g);
  });
});

describe("maskedPaths and readonlyPaths that are symlinks out of the rootfs", () => {
  const cases: [string, (hostPath: string) => string, boolean][] = [
    ["links by absolute path", (p) => p, false],
    ["links by absolute path that also exist in the rootfs", (p) => p, true],
    ["links through ..", climb, false],
    ["links through .. that exist in the rootfs", climb, true],
  ];
  test.each(cases)("%s: nothing on the host is masked or made read-only", (_, link, inRoot) => {
    const g = ground();
    symlinkSync(link(join(g.host, "sub")), join(g.rootfs, "masked-dir"));
    symlinkSync(link(join(g.host, "file")), join(g.rootfs, "masked-file"));
    symlinkSync(link(g.host), join(g.rootfs, "readonly-dir"));
    symlinkSync(link(join(g.host, "file")), join(g.rootfs, "readonly-file"));
    symlinkSync(link(g.host), join(g.rootfs, "via"));
    if (inRoot) {
      mirror(g, g.host, { file: "rootfs file\n" });
      mirror(g, join(g.host, "sub"), { file: "rootfs sub file\n" });
    }
    const r = hostile(g, (c) => {
      c.linux!.maskedPaths = [
        ...c.linux!.maskedPaths!,
        "/masked-dir",
        "/masked-file",
        "/via/sub",
        "/via/file",
      ];
      c.linux!.readonlyPaths = [...c.linux!.readonlyPaths!, "/readonly-dir", "/readonly-file", "/via/sub"];
    });
    created(r);
    expect(readFileSync(join(g.host, "file"), "utf8")).toBe("host file\n");
    expect(readFileSync(join(g.host, "sub/file"), "utf8")).toBe("host sub file\n");
    expectWritable(g);
  });
});

// Not the host, but the same resolution: a path the config masks or makes
// read-only must be so in the container, whatever the image made of it.
describe("maskedPaths and readonlyPaths that are symlinks inside the rootfs", () => {
  test("what the links name is masked or read-only in the container, or the image is refused", () => {
    const g = ground();
    const data = join(g.rootfs, "data");
    mkdirSync(join(data, "secret-dir"), { recursive: true });
    mkdirSync(join(data, "ro-dir"));
    writeFileSync(join(data, "secret"), "secret\n");
    writeFileSync(join(data, "secret-dir/file"), "secret\n");
    writeFileSync(join(data, "ro-file"), "kept\n");
    symlinkSync("/data/secret", join(g.rootfs, "masked-file"));
    symlinkSync("../../data/secret-dir", join(g.rootfs, "masked-dir"));
    symlinkSync("/data/ro-dir", join(g.rootfs, "readonly-dir"));
    symlinkSync("../../data/ro-file", join(g.rootfs, "readonly-file"));
    const before = tree(data);
    const r = runHostile(
      g,
      [
        "cat /masked-file 2>/dev/null",
        "ls /masked-dir/ 2>/dev/null",
        "cat /masked-dir/file 2>/dev/null",
        "touch /readonly-dir/new 2>/dev/null && echo readonly-dir-written",
        "echo more >> /readonly-file 2>/dev/null && echo readonly-file-written",
        "echo done",
      ].join("; "),
      (c) => {
        c.linux!.maskedPaths = ["/masked-file", "/masked-dir"];
        c.linux!.readonlyPaths = ["/readonly-dir", "/readonly-file"];
      },
    );
    if (r.code === 0) expect(r.stdout).toBe("done\n");
    else {
      expect(r.stderr).toMatch(/^bunc: [^\n]+\n$/);
      expect(r.code).toBe(1);
    }
    expect(tree(data)).toEqual(before);
  });
});

describe("a process.cwd through a symlink out of the rootfs", () => {
  const inWork = (c: Config) => {
    c.process.cwd = "/work";
  };

  test.each([
    ["by absolute path", "/etc"],
    ["through ..", climb("/etc")],
  ])("to the host's /etc %s: the process is in the rootfs's /etc", (_, link) => {
    const g = ground();
    writeFileSync(join(g.rootfs, "etc/in-rootfs"), "");
    symlinkSync(link, join(g.rootfs, "work"));
    const r = runHostile(g, "pwd -P && ls", inWork);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [pwd, ...listing] = r.stdout.trim().split("\n");
    expect(pwd).toBe("/etc");
    expect(listing).toEqual(readdirSync(join(g.rootfs, "etc")).sort());
    expect(listing).toContain("in-rootfs");
    expect(existsSync("/etc/in-rootfs")).toBe(false);
  });

  test("to a host directory that also exists in the rootfs: the process is in the rootfs's copy", () => {
    const g = ground();
    mirror(g, g.host, { "in-rootfs": "" });
    symlinkSync(g.host, join(g.rootfs, "work"));
    const r = runHostile(g, "pwd -P && ls", inWork);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${g.host}\nin-rootfs\n`);
  });

  test("to a host directory missing from the rootfs: the process never runs in the host directory", () => {
    const g = ground();
    symlinkSync(g.host, join(g.rootfs, "work"));
    const r = runHostile(g, "pwd -P && ls", inWork);
    expect(r.stdout).toBe("");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^bunc[^\n]*: [^\n]*cwd[^\n]*\n$/);
  });
});

/** Runs a script in the foreground from the test's hostile image, checking the host as `hostile` does. */
function runHostile(g: Ground, script: string, edit: (c: Config) => void = () => {}): Result {
  const id = env.id("run");
  const bundle = env.bundle(id, ["sh", "-c", script], (c) => {
    c.root = { path: g.rootfs, readonly: false };
    edit(c);
  });
  const before = hostView(g, bundle);
  let r: Result;
  try {
    r = env.bunc(["run", "--bundle", bundle, id]);
  } finally {
    env.bunc(["delete", "--force", id]);
  }
  expect(hostView(g, bundle)).toEqual(before);
  expect(env.leftovers()).toEqual([]);
  return r;
}
