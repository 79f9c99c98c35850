// Shell mode's config from its flags: what docker's flags of the same
// name would give.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ShellOptions, shellSpec } from "../../src/cli/shellSpec.ts";

const options = (o: Partial<ShellOptions> = {}): ShellOptions => ({
  rootfs: "/r",
  name: "t",
  env: [],
  envFiles: [],
  volumes: [],
  readOnly: false,
  tmpfs: [],
  network: "none",
  capAdd: [],
  capDrop: [],
  tty: false,
  args: ["true"],
  ...o,
});

describe("capabilities", () => {
  const caps = (capAdd: string[], capDrop: string[]) =>
    shellSpec(options({ capAdd, capDrop })).process.capabilities;

  test("--cap-add ALL is every capability but the dropped ones", () => {
    const c = caps(["ALL"], ["NET_RAW", "cap_sys_admin"]);
    expect(c?.bounding).toContain("CAP_SYS_PTRACE");
    expect(c?.bounding).not.toContain("CAP_NET_RAW");
    expect(c?.bounding).not.toContain("CAP_SYS_ADMIN");
    expect(c?.effective).toEqual(c?.bounding ?? []);
    expect(c?.permitted).toEqual(c?.bounding ?? []);
    expect(caps(["ALL", "NET_RAW"], ["NET_RAW"])?.bounding).not.toContain("CAP_NET_RAW");
  });

  test("--cap-drop ALL keeps the added ones; otherwise the default set less the dropped, plus the added", () => {
    expect(caps(["chown"], ["ALL"])?.bounding).toEqual(["CAP_CHOWN"]);
    expect(caps(["CHOWN"], ["KILL"])?.bounding).toEqual([
      "CAP_AUDIT_WRITE",
      "CAP_NET_BIND_SERVICE",
      "CAP_CHOWN",
    ]);
  });

  test("names are checked, and ALL both ways is refused", () => {
    expect(() => caps([], ["ALL", "FLY"])).toThrow('--cap-drop: "FLY" is no capability');
    expect(() => caps(["ALL"], ["ALL"])).toThrow("--cap-add ALL and --cap-drop ALL contradict each other");
  });
});

describe("environment", () => {
  test("one entry a name, the last given winning: the defaults, then --env-file, then -e", () => {
    const dir = mkdtempSync(join(tmpdir(), "bunc-env-"));
    try {
      const file = join(dir, "vars");
      writeFileSync(file, "# a comment\nA=file\nB=file\nB=file-again\nTERM=dumb\n");
      const env = shellSpec(options({ envFiles: [file], env: ["A=1", "C=x", "A=2"] })).process.env;
      expect(env).toEqual([
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "TERM=dumb",
        "A=2",
        "B=file-again",
        "C=x",
      ]);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe("--tmpfs", () => {
  // They come last, after the default mounts.
  const mounts = (tmpfs: string[]) => shellSpec(options({ tmpfs })).mounts?.slice(-tmpfs.length);

  test("DST[:OPTIONS]: the options go after the defaults", () => {
    expect(mounts(["/scratch", "/tmp:size=64m,mode=700,noexec"])).toEqual([
      { destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"] },
      {
        destination: "/tmp",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "nodev", "mode=1777", "size=64m", "mode=700", "noexec"],
      },
    ]);
  });

  test("a relative destination or an empty option is refused", () => {
    expect(() => mounts(["tmp:size=1m"])).toThrow('--tmpfs: "tmp" is not an absolute path');
    expect(() => mounts(["/tmp:"])).toThrow('--tmpfs: "/tmp:" has an empty mount option');
    expect(() => mounts(["/tmp:size=1m,,ro"])).toThrow(
      '--tmpfs: "/tmp:size=1m,,ro" has an empty mount option',
    );
  });
});
