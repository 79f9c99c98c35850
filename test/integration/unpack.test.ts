// The bundled unpack plugin, for real: images written by the test (an OCI
// layout, an OCI archive, a docker save tarball; a base layer made with
// node-tar from the test's rootfs and hand-made layers on top), containers
// run from them, checked from inside and on the host; hostile archives of
// each kind; the cache under parallel creates, crashes and prune.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as tar from "tar";
import { applyLayer } from "../../hooks/unpack/apply.ts";
import { cacheLock, ensureLayer } from "../../hooks/unpack/cache.ts";
import type { Config } from "../../src/oci/config.ts";
import { O } from "../../src/sys/constants.ts";
import { sys } from "../../src/sys/lib.ts";
import { openPath } from "../../src/sys/open.ts";
import {
  sha256,
  type TarEntry,
  tarOf,
  writeDockerSave,
  writeLayout,
  writeOciArchive,
} from "../fixtures/images.ts";
import { BUNC, createAtOnce, useTestEnv, withUserns } from "./harness.ts";

const env = useTestEnv();
setDefaultTimeout(60_000);
let hooksDir = "";
let base: Buffer;

const CAP = Buffer.from("0100000200100000000000000000000000000000", "hex");
const MID: TarEntry[] = [
  { path: "etc/", type: "dir" },
  { path: "etc/passwd", body: "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n" },
  { path: "etc/group", body: "root:x:0:\napp:x:1000:\nstaff:x:50:\n" },
  { path: "old.txt", body: "old" },
  { path: "dir/", type: "dir", mtime: 1_600_000_000 },
  { path: "dir/a", body: "a" },
  { path: "nodes/", type: "dir" },
  { path: "nodes/null", type: "char", dev: [1, 3] },
  { path: "nodes/disk", type: "block", dev: [8, 0] },
  { path: "nodes/mem", type: "char", dev: [1, 1] },
  { path: "nodes/fifo", type: "fifo" },
  {
    path: "capped",
    body: "x",
    mode: 0o755,
    xattrs: { "security.capability": CAP, "user.note": Buffer.from("kept") },
  },
  { path: `deep/${"d".repeat(120)}/f`, body: "long name" },
];
const TOP: TarEntry[] = [
  { path: ".wh.old.txt" },
  { path: "dir/.wh..wh..opq" },
  { path: "dir/b", body: "b" },
  { path: "hard", type: "hardlink", linkpath: "dir/b" },
  { path: "link", type: "symlink", linkpath: "/etc" },
  { path: "owned", body: "o", uid: 1000, gid: 50, mode: 0o640, mtime: 1_500_000_000 },
];
const CONFIG = {
  Env: ["PATH=/bin:/usr/bin", "FROM=image"],
  Cmd: ["sh", "-c", "echo cmd-ran"],
  WorkingDir: "/dir",
  User: "app:staff",
};
// For images without the layer that has the app user.
const PLAIN = { Env: ["PATH=/bin:/usr/bin"], Cmd: ["true"] };

function bunc(args: readonly string[], opts: { debug?: boolean } = {}) {
  return env.bunc(["--hooks-dir", hooksDir, ...(opts.debug ? ["--debug"] : []), ...args]);
}

/** A bundle with no rootfs of its own and empty args and env: the image supplies them. */
function imageBundle(id: string, image: string, edit?: (c: Config) => void, args: string[] = []): string {
  return env.bundle(id, ["true"], (c) => {
    c.process.args = args;
    c.process.env = [];
    c.root = { path: "no-such-rootfs", readonly: false };
    c.annotations = { "bunc.image": image };
    edit?.(c);
  });
}

const run = (id: string, image: string, args: string[] = [], edit?: (c: Config) => void, debug = false) =>
  bunc(["run", "--bundle", imageBundle(id, image, edit, args), id], { debug });

const imagesDir = () => join(env.root, ".images");
const cached = () =>
  existsSync(join(imagesDir(), "layers"))
    ? readdirSync(join(imagesDir(), "layers")).filter((n) => n.endsWith(".json"))
    : [];

function expectNothingLeft(): void {
  const containers = join(imagesDir(), "containers");
  expect(existsSync(containers) ? readdirSync(containers) : []).toEqual([]);
  expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(imagesDir());
  const layers = join(imagesDir(), "layers");
  expect((existsSync(layers) ? readdirSync(layers) : []).filter((n) => n.startsWith(".tmp-"))).toEqual([]);
}

describe("the unpack plugin", () => {
  beforeAll(() => {
    hooksDir = join(env.dir, "hooks.d");
    const installed = Bun.spawnSync([BUNC, "hooks", "install", "unpack", "--dir", hooksDir], {
      stderr: "pipe",
    });
    if (installed.exitCode !== 0) throw new Error(installed.stderr.toString());
    const file = join(env.dir, "base.tar");
    tar.c({ sync: true, file, cwd: env.rootfs }, ["."]);
    base = readFileSync(file);
    writeLayout(join(env.dir, "img"), [
      { layers: [base, tarOf(MID), tarOf(TOP)], compress: "gzip", config: CONFIG },
    ]);
  });
  afterAll(() => {
    for (const id of readdirSync(env.root).filter((e) => !e.startsWith("."))) bunc(["delete", "--force", id]);
  });

  test("layers in order: whiteouts, opaque dirs, hardlinks, symlinks, nodes, FIFOs, owners, modes, times, xattrs", () => {
    const id = env.id("img");
    const r = run(id, join(env.dir, "img"), [
      "sh",
      "-c",
      "ls /old.txt 2>&1 | grep -c 'No such'; ls /dir; stat -c '%n %h %F' /hard /link /nodes/null /nodes/fifo; ls /nodes; stat -c '%n %u:%g %a %Y' /owned /capped /dir; cat /deep/*/f",
    ]);
    expect(r.stderr).toContain("/nodes/disk: block device 8:0 left out");
    expect(r.stderr).toContain("/nodes/mem: char device 1:1 left out");
    expect(r.stdout.split("\n")).toEqual([
      "1",
      "b",
      "/hard 2 regular file",
      "/link 1 symbolic link",
      "/nodes/null 1 character special file",
      "/nodes/fifo 1 fifo",
      "fifo",
      "null",
      "/owned 1000:50 640 1500000000",
      "/capped 0:0 755 1700000000",
      // The top layer made /dir implicitly (for its opaque marker): its time is the unpack's.
      expect.stringMatching(/^\/dir 0:0 755 \d+$/),
      "long name",
    ]);
    // security.capability and user.* came through the pax records, as bytes.
    const layer = readdirSync(join(imagesDir(), "layers")).find((k) =>
      existsSync(join(imagesDir(), "layers", k, "capped")),
    );
    const xattr = Bun.spawnSync([
      "python3",
      "-c",
      "import os,sys; print(os.getxattr(sys.argv[1],'security.capability').hex(), os.getxattr(sys.argv[1],'user.note').decode())",
      join(imagesDir(), "layers", layer ?? "", "capped"),
    ]);
    expect(xattr.stdout.toString().trim()).toBe(`${CAP.toString("hex")} kept`);
    expectNothingLeft();
  });

  test("the image's Env, Cmd, WorkingDir and User fill what the bundle left empty; the bundle's own win", () => {
    const r = run(env.id("img"), join(env.dir, "img"), [], undefined);
    expect(r.stdout).toBe("cmd-ran\n");
    const who = run(env.id("img"), join(env.dir, "img"), ["sh", "-c", "id -u; id -g; pwd; echo $FROM"]);
    expect(who.stdout).toBe("1000\n50\n/dir\nimage\n");
    const own = run(env.id("img"), join(env.dir, "img"), ["sh", "-c", "id -u; pwd; echo $FROM"], (c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.cwd = "/etc";
      c.process.env = ["PATH=/bin:/usr/bin", "FROM=bundle"];
    });
    expect(own.stderr).toBe("");
    expect(own.stdout).toBe("1000\n/etc\nbundle\n");
    expectNothingLeft();
  });

  test("a second container unpacks nothing; 20 creates at once unpack each layer once", async () => {
    const image = join(env.dir, "img-par");
    writeLayout(image, [{ layers: [base, tarOf([{ path: "par", body: "p" }])], config: PLAIN }]);
    const before = cached().length;
    const ids = Array.from({ length: 20 }, () => env.id("par"));
    const errors = await createAtOnce(env, ids, (id) => [
      BUNC,
      ...["--root", env.root, "--hooks-dir", hooksDir],
      ...["create", "--bundle", imageBundle(id, image, undefined, ["sleep", "100"]), id],
    ]);
    expect(errors.filter(Boolean)).toEqual([]);
    // The base layer was cached already; the image's one new layer was unpacked once.
    expect(cached().length).toBe(before + 1);
    const ls = env.ok(["image", "ls"]);
    expect(ls).toContain(sha256(tarOf([{ path: "par", body: "p" }])));
    for (const id of ids) expect(ls).toContain(id);
    for (const id of ids) env.ok(["delete", "--force", id]);
    const again = run(env.id("img"), image, ["cat", "/par"], undefined, true);
    expect(again.stdout).toBe("p");
    expect(again.stderr).toContain("(0 of 2 layers unpacked)");
    expectNothingLeft();
  });

  test("an OCI archive and a docker save tarball, with the image named by tag", () => {
    const layout = join(env.dir, "tagged");
    writeLayout(layout, [
      { layers: [base, tarOf([{ path: "which", body: "one" }])], config: PLAIN, tag: "one" },
      { layers: [base, tarOf([{ path: "which", body: "two" }])], config: PLAIN, tag: "two" },
    ]);
    const archive = join(env.dir, "tagged.tar");
    writeOciArchive(archive, layout);
    expect(run(env.id("img"), `${layout}:two`, ["cat", "/which"]).stdout).toBe("two");
    const two = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")).manifests[1].digest;
    expect(run(env.id("img"), `${layout}@${two}`, ["cat", "/which"]).stdout).toBe("two");
    expect(run(env.id("img"), `${archive}:one`, ["cat", "/which"]).stdout).toBe("one");
    expect(run(env.id("img"), archive, ["true"]).stderr).toContain(
      "holds several images (one, two): name one with :TAG",
    );
    const saved = join(env.dir, "saved.tar");
    writeDockerSave(saved, join(env.dir, "saved"), {
      layers: [base, tarOf([{ path: "which", body: "docker" }])],
      config: PLAIN,
      repoTag: "local/app:1",
    });
    expect(run(env.id("img"), `${saved}:local/app:1`, ["cat", "/which"]).stdout).toBe("docker");
    expect(run(env.id("img"), saved, ["cat", "/which"]).stdout).toBe("docker");
    expectNothingLeft();
  });

  test("zstd layers; progress on a terminal only", () => {
    const image = join(env.dir, "zstd");
    writeLayout(image, [
      { layers: [base, tarOf([{ path: "z", body: "zstd" }])], compress: "zstd", config: PLAIN },
    ]);
    const plain = run(env.id("img"), image, ["cat", "/z"]);
    expect(plain.stdout).toBe("zstd");
    expect(plain.stderr).toBe("");
    const fresh = join(env.dir, "zstd-tty");
    writeLayout(fresh, [
      { layers: [base, tarOf([{ path: "z", body: "tty" }])], compress: "zstd", config: PLAIN },
    ]);
    const id = env.id("img");
    const line = [
      BUNC,
      "--root",
      env.root,
      "--hooks-dir",
      hooksDir,
      "run",
      "--bundle",
      imageBundle(id, fresh, undefined, ["true"]),
      id,
    ]
      .map((a) => `'${a}'`)
      .join(" ");
    const tty = Bun.spawnSync(["script", "-qec", line, "/dev/null"], { stdin: "ignore" });
    expect(tty.stdout.toString()).toMatch(/unpacking layer 1\/1 [0-9a-f]{12} \[#+\.*\]/);
    expect(tty.stdout.toString()).toContain("1 of 2 layers unpacked");
    expectNothingLeft();
  });

  test("a user namespace sees the shared layers through id-mapped mounts: nothing is unpacked again", () => {
    const id = env.id("img");
    const r = run(
      id,
      join(env.dir, "img"),
      ["sh", "-c", "stat -c '%u:%g' /owned /bin; id -u; touch /new; stat -c '%u' /new"],
      (c) => {
        withUserns(c);
        // Root by name: a bundle that names its user keeps it (the image's User is app).
        c.process.user = { uid: 0, gid: 0, username: "root" };
      },
    );
    expect(r.stderr).not.toContain("touch");
    expect(r.stdout).toBe("1000:50\n0:0\n0\n0\n");
    // No shifted copies: the layers on disk keep the image's own ids.
    expect(readdirSync(join(imagesDir(), "layers")).filter((k) => /-[0-9a-f]{12}$/.test(k))).toEqual([]);
    expectNothingLeft();
  });

  test("where id-mapped mounts are refused, a shifted unpack: every owner moved into the mapping", async () => {
    const dir = join(env.dir, "shifted");
    mkdirSync(dir);
    const fd = openPath(dir, O.PATH | O.DIRECTORY);
    try {
      const shift = { uid: [[0, 100000, 65536]] as const, gid: [[0, 100000, 65536]] as const };
      const stream = async function* (b: Buffer) {
        yield b;
      };
      await applyLayer(stream(tarOf(TOP.slice(2))), fd, shift);
      await expect(
        applyLayer(stream(tarOf([{ path: "far", body: "x", uid: 70000 }])), fd, shift),
      ).rejects.toThrow("/far: uid 70000 is outside the container's user namespace mapping");
    } finally {
      sys.bunc_close(fd);
    }
    expect(`${statSync(join(dir, "owned")).uid}:${statSync(join(dir, "owned")).gid}`).toBe("101000:100050");
    expect(statSync(join(dir, "dir", "b")).uid).toBe(100000);
  });

  test("two creates of one id at once: one wins, the other fails at once and leaves the winner's root alone", async () => {
    const id = env.id("same");
    const bundle = imageBundle(id, join(env.dir, "img"), undefined, ["sleep", "100"]);
    // createAtOnce takes ids and names its files by them: the same id twice, told apart by the argv.
    const errors = await createAtOnce(env, [id, `${id}-b`], () => [
      BUNC,
      ...["--root", env.root, "--hooks-dir", hooksDir],
      ...["create", "--bundle", bundle, id],
    ]);
    expect(errors.filter(Boolean).map((e) => e.trim())).toEqual([
      expect.stringMatching(new RegExp(`^bunc: container with id ${id} already exists`)),
    ]);
    expect(env.state(id).status).toBe("created");
    env.ok(["start", id]);
    expect(env.ok(["exec", id, "cat", "/dir/b"])).toBe("b");
    env.ok(["delete", "--force", id]);
    expectNothingLeft();
  });

  test("a later precreate hook that fails: the unpacked root is taken away, and the id can be used again", () => {
    const dir = join(env.dir, "hooks-failing");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "50-bunc-unpack.json"), readFileSync(join(hooksDir, "50-bunc-unpack.json")));
    const failing = { path: "/bin/false", args: ["false"] };
    writeFileSync(
      join(dir, "90-fail.json"),
      JSON.stringify({ version: "1.0.0", hook: failing, when: { always: true }, stages: ["precreate"] }),
    );
    const id = env.id("pre");
    const bundle = imageBundle(id, join(env.dir, "img"), undefined, ["true"]);
    const failed = env.bunc(["--hooks-dir", dir, "run", "--bundle", bundle, id]);
    expect(failed.code).not.toBe(0);
    expectNothingLeft();
    expect(bunc(["run", "--bundle", bundle, id]).code).toBe(0);
    expectNothingLeft();
  });

  test("a container directory that cannot be made is reported with its path and cause; one already there as such", () => {
    const containers = join(imagesDir(), "containers");
    mkdirSync(containers, { recursive: true });
    // A filesystem with no inode left for the container's directory.
    const full = Bun.spawnSync([
      "mount",
      "-t",
      "tmpfs",
      "-o",
      "nr_inodes=1,mode=0711",
      "bunc-test",
      containers,
    ]);
    expect(full.exitCode).toBe(0);
    const id = env.id("img");
    try {
      expect(run(id, join(env.dir, "img"), ["true"]).stderr).toContain(
        `image: make ${join(containers, id)} for container ${id}: ENOSPC`,
      );
    } finally {
      Bun.spawnSync(["umount", containers]);
    }
    const again = env.id("img");
    mkdirSync(join(containers, again));
    expect(run(again, join(env.dir, "img"), ["true"]).stderr).toContain(
      `image: container ${again} has an unpacked root already`,
    );
    expectNothingLeft();
  });

  test("a layer the image stacks twice counts at its upper place (overlayfs takes a directory once)", () => {
    const image = join(env.dir, "repeated");
    const x = tarOf([
      { path: "rep", body: "x" },
      { path: "x-only", body: "x" },
    ]);
    const y = tarOf([
      { path: "rep", body: "y" },
      { path: "y-only", body: "y" },
    ]);
    writeLayout(image, [{ layers: [base, x, y, x], config: PLAIN }]);
    const r = run(env.id("img"), image, ["cat", "/rep", "/x-only", "/y-only"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("xxy");
    expectNothingLeft();
  });

  test("80 layers, too many for overlayfs's options as paths, are stacked; 300 are refused by name", () => {
    const layers = Array.from({ length: 80 }, (_, i) =>
      tarOf([
        { path: "top", body: String(i) },
        { path: `n/${i}`, body: "" },
      ]),
    );
    const image = join(env.dir, "tall");
    writeLayout(image, [{ layers: [base, ...layers], config: PLAIN }]);
    const check = ["sh", "-c", "cat /top; echo; ls /n | wc -l"];
    expect(run(env.id("img"), image, check).stdout).toBe("79\n80\n");
    // Id-mapped views of the layers, under the container's directory: longer paths still.
    expect(run(env.id("img"), image, check, withUserns).stdout).toBe("79\n80\n");
    const taller = join(env.dir, "taller");
    writeLayout(taller, [
      { layers: [base, ...Array.from({ length: 299 }, (_, i) => tarOf([{ path: `m${i}` }]))], config: PLAIN },
    ]);
    expect(run(env.id("img"), taller, ["true"]).stderr).toContain(
      `image ${taller}: its 300 layers are more than one overlayfs mount's options can name`,
    );
    expectNothingLeft();
  });

  /** A created container of the test image, and its directory under the plugin's state. */
  const createFromImage = (edit?: Parameters<typeof imageBundle>[2]) => {
    const id = env.id("img");
    const bundle = imageBundle(id, join(env.dir, "img"), edit, ["true"]);
    env.ok(["--hooks-dir", hooksDir, "create", "--bundle", bundle, id]);
    return { id, dir: join(imagesDir(), "containers", id) };
  };

  test("a record lost half-written: poststop still detaches root and id-mapped layers, and never deletes a shared layer's files", () => {
    const layers = join(imagesDir(), "layers");
    const files = () => readdirSync(layers, { recursive: true }).map(String).sort();
    const { id, dir } = createFromImage(withUserns);
    expect(readdirSync(join(dir, "lower")).length).toBe(3);
    const before = files();
    // As a crash in the middle of rewriting it would leave it.
    writeFileSync(join(dir, "made.json"), '{"layers":["');
    expect(bunc(["delete", "--force", id]).stderr).toBe("");
    expect(files()).toEqual(before);
    expectNothingLeft();
  });

  test("a mount under a container's directory that the plugin did not make: it is not removed across", () => {
    const { id, dir } = createFromImage();
    const precious = join(env.dir, "precious");
    mkdirSync(precious, { recursive: true });
    writeFileSync(join(precious, "keep"), "kept");
    mkdirSync(join(dir, "extra"));
    expect(Bun.spawnSync(["mount", "--bind", precious, join(dir, "extra")]).exitCode).toBe(0);
    try {
      expect(bunc(["delete", "--force", id]).stderr).toContain(
        `image: container ${id}: ${join(dir, "extra")} is still mounted, so ${dir} is left in place`,
      );
      expect(readFileSync(join(precious, "keep"), "utf8")).toBe("kept");
    } finally {
      Bun.spawnSync(["umount", "-l", join(dir, "extra")]);
    }
    rmSync(dir, { recursive: true });
    expectNothingLeft();
  });

  test("a truncated gzip layer fails the create naming image and layer; nothing is left, and the id is free again", () => {
    const image = join(env.dir, "truncated");
    const layer = tarOf([{ path: "t", body: "whole\n".repeat(10_000) }]);
    let digest = "";
    writeLayout(image, [
      {
        layers: [base, layer],
        compress: "gzip",
        config: PLAIN,
        // Cut inside the deflate stream; the manifest's digest and size are the cut blob's.
        blobOf: (i, b) => {
          if (i === 0) return b;
          const cut = b.subarray(0, b.length - 40);
          digest = sha256(cut);
          return cut;
        },
      },
    ]);
    const id = env.id("bad");
    // A timeout: an unhandled stream error may end the create, or leave it hanging.
    const r = Bun.spawnSync(
      [BUNC, "--root", env.root, "--hooks-dir", hooksDir, "run", "--bundle", imageBundle(id, image), id],
      { stdout: "pipe", stderr: "pipe", timeout: 20_000 },
    );
    expect(r.stderr.toString()).toContain(
      `image ${image}: layer ${digest}: its blob does not decompress: unexpected end of file`,
    );
    expect(r.exitCode).not.toBe(0);
    expect(cached().some((k) => k.startsWith(sha256(layer).slice(7)))).toBe(false);
    expectNothingLeft();
    const whole = join(env.dir, "whole");
    writeLayout(whole, [{ layers: [base, layer], compress: "gzip", config: PLAIN }]);
    expect(run(id, whole, ["head", "-1", "/t"]).stdout).toBe("whole\n");
    expectNothingLeft();
  });

  test("a layer that fails to unpack leaves no fd open on its blob", async () => {
    const root = join(env.dir, "fd-root");
    const blobFile = join(env.dir, "fd-blob");
    // A refused entry first, then more than the streams buffer: the blob is far from read when the unpack fails.
    const layer = tarOf([
      { path: "victim", type: "hardlink", linkpath: "/etc/passwd" },
      { path: "big", body: randomBytes(16 << 20) },
    ]);
    const blob = gzipSync(layer);
    writeFileSync(blobFile, blob);
    const open = () =>
      readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === blobFile;
        } catch {
          return false;
        }
      });
    cacheLock(root);
    await expect(
      ensureLayer(
        root,
        "fd-image",
        { digest: sha256(blob), size: blob.length, diffId: sha256(layer), file: () => blobFile },
        null,
        () => {},
      ),
    ).rejects.toThrow(`image fd-image: layer ${sha256(blob)}: /victim: link to /etc/passwd`);
    await Bun.sleep(50);
    expect(open()).toEqual([]);
  });

  describe("hostile images: nothing is written outside the root", () => {
    const outside = () => join(env.dir, "outside");
    const hostile = (name: string, entries: TarEntry[], edit?: (c: Config) => void) => {
      const image = join(env.dir, `hostile-${name}`);
      writeLayout(image, [{ layers: [base, tarOf(entries)], config: PLAIN }]);
      return run(
        env.id("bad"),
        image,
        ["sh", "-c", `ls ${outside()} 2>/dev/null; cat /victim 2>/dev/null; true`],
        edit,
      );
    };
    beforeAll(() => mkdirSync(outside(), { recursive: true }));

    test.each([
      ["an absolute path", [{ path: `${join(env.dir, "outside")}/abs`, body: "x" }]],
      ["`..` climbing out", [{ path: `../../../../../../..${join(env.dir, "outside")}/dots`, body: "x" }]],
      [
        "a symlink out, then a file under it",
        [
          { path: "esc", type: "symlink", linkpath: join(env.dir, "outside") },
          { path: "esc/pwned", body: "x" },
        ],
      ],
      [
        "a symlink of .. out, then a file under it",
        [
          { path: "up", type: "symlink", linkpath: "../../../../../../../.." },
          { path: `up${join(env.dir, "outside")}/pwned2`, body: "x" },
        ],
      ],
    ] as [string, TarEntry[]][])("%s", (_, entries) => {
      // The create may go on (the entry landed inside) or fail on it; either way nothing is outside.
      hostile(String(entries.length), entries);
      expect(readdirSync(outside())).toEqual([]);
      expectNothingLeft();
    });

    test("a hardlink to a host path fails the create, naming image, layer and path, and leaves nothing", () => {
      writeFileSync(join(outside(), "..", "victim-host"), "host");
      const entries: TarEntry[] = [
        { path: "victim", type: "hardlink", linkpath: join(env.dir, "victim-host") },
      ];
      const r = hostile("hardlink", entries);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(
        `image ${join(env.dir, "hostile-hardlink")}: layer ${sha256(tarOf(entries))}: /victim: link to ${join(env.dir, "victim-host")}`,
      );
      expect(statSync(join(env.dir, "victim-host")).nlink).toBe(1);
      expect(cached().some((k) => k.startsWith(sha256(tarOf(entries)).slice(7)))).toBe(false);
      expectNothingLeft();
    });

    test("a hardlink to a symlink that points out: its mode never reaches the host file", () => {
      const victim = join(outside(), "..", "victim-mode");
      writeFileSync(victim, "host");
      chmodSync(victim, 0o644);
      hostile("linked-symlink", [
        { path: "s", type: "symlink", linkpath: victim },
        { path: "h", type: "hardlink", linkpath: "s", mode: 0o4777 },
      ]);
      expect(statSync(victim).mode & 0o7777).toBe(0o644);
      expectNothingLeft();
    });

    test("a bundle whose root.path is a symlink to a host directory: it is never written", () => {
      const id = env.id("bad");
      const bundle = imageBundle(
        id,
        join(env.dir, "img"),
        (c) => {
          c.root = { path: "rootfs" };
        },
        ["true"],
      );
      symlinkSync(outside(), join(bundle, "rootfs"));
      expect(bunc(["run", "--bundle", bundle, id]).code).toBe(0);
      expect(readdirSync(outside())).toEqual([]);
    });

    test("a tampered layer or manifest is refused before it is used", () => {
      const image = join(env.dir, "tampered");
      const layer = tarOf([{ path: "t", body: "genuine" }]);
      writeLayout(image, [{ layers: [base, layer], config: PLAIN }]);
      const blob = join(image, "blobs", "sha256", sha256(layer).slice(7));
      writeFileSync(blob, tarOf([{ path: "t", body: "forged!" }]));
      const r = run(env.id("bad"), image, ["cat", "/t"]);
      expect(r.stderr).toContain(
        `layer ${sha256(layer)}: the blob's digest or size does not match the manifest`,
      );
      expect(cached().some((k) => k.startsWith(sha256(layer).slice(7)))).toBe(false);
      const index = JSON.parse(readFileSync(join(image, "index.json"), "utf8"));
      const manifest = join(image, "blobs", "sha256", index.manifests[0].digest.slice(7));
      writeFileSync(
        manifest,
        readFileSync(manifest, "utf8").replace('"schemaVersion":2', '"schemaVersion":3'),
      );
      expect(run(env.id("bad"), image, ["true"]).stderr).toContain(
        `manifest ${index.manifests[0].digest} does not match its digest or size`,
      );
      expectNothingLeft();
    });
  });

  test("a crashed unpack is never used and is swept; prune removes what no container uses", () => {
    const image = join(env.dir, "crash");
    const layer = tarOf([{ path: "c", body: "complete" }]);
    writeLayout(image, [{ layers: [base, layer], config: PLAIN }]);
    const key = sha256(layer).slice(7);
    // A half-unpacked layer of a process that is gone, and a layer renamed into place without its record.
    const layers = join(imagesDir(), "layers");
    mkdirSync(join(layers, `.tmp-${key}-999999999`), { recursive: true });
    writeFileSync(join(layers, `.tmp-${key}-999999999`, "c"), "half");
    mkdirSync(join(layers, key), { recursive: true });
    writeFileSync(join(layers, key, "c"), "half");
    expect(run(env.id("img"), image, ["cat", "/c"]).stdout).toBe("complete");
    expect(existsSync(join(layers, `.tmp-${key}-999999999`))).toBe(false);
    const pruned = env.ok(["image", "prune"]);
    expect(pruned).toContain(key);
    expect(env.ok(["image", "ls", "-q"])).toBe("");
    rmSync(join(env.dir, "crash"), { recursive: true });
    expectNothingLeft();
  });
});
