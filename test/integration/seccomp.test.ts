// Seccomp in real containers: real profiles (Docker's, podman's) load and
// let ordinary programs run; blocked calls fail with the configured errno or
// kill; newer syscalls get ENOSYS; SCMP_ACT_NOTIFY reaches an agent; and
// profiles that cannot work fail `create` with the reason.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Config, Seccomp } from "../../src/oci/config.ts";
import { syscallNumber } from "../../src/seccomp/arch.ts";
import { installLibraries } from "../fixtures/rootfs.ts";
import { PODMAN_CAPS, PROFILES } from "../fixtures/seccomp/profiles.ts";
import { runIn, useTestEnv } from "./harness.ts";

const env = useTestEnv();
const FIXTURES = resolve(import.meta.dir, "../fixtures/seccomp");
const BUN = resolve(import.meta.dir, "../../node_modules/bun/bin/bun.exe");
const nr = (name: string) => syscallNumber("SCMP_ARCH_X86_64", name) ?? -1;

let probe = "";
let listener = "";

beforeAll(async () => {
  probe = join(env.dir, "probe");
  listener = join(env.dir, "listener");
  for (const [src, out, flags] of [
    ["probe.c", probe, ["-static"]],
    ["listener.c", listener, []],
  ] as const) {
    const cc = Bun.spawnSync(["cc", "-O2", ...flags, "-o", out, join(FIXTURES, src)]);
    if (cc.exitCode !== 0) throw new Error(`cc ${src}: ${cc.stderr.toString()}`);
  }
  await installLibraries(env.rootfs, BUN);
});

/** The probe bound into the container at /probe, and a profile. */
function withProfile(seccomp: Seccomp, edit?: (c: Config) => void) {
  return (c: Config) => {
    c.mounts!.push({ destination: "/probe", type: "bind", source: probe, options: ["bind", "ro"] });
    c.linux!.seccomp = seccomp;
    edit?.(c);
  };
}

const lines = (s: string) => s.trim().split("\n");

describe("real profiles", () => {
  test("Docker's default profile: a shell, coreutils and a Bun program run; blocked calls get EPERM, newer ones ENOSYS", () => {
    const r = runIn(
      env,
      [
        "sh",
        "-c",
        [
          "ls / >/dev/null && grep '^Seccomp:' /proc/self/status",
          "/usr/local/bin/bun -e 'console.log(6 * 7)'",
          `/probe ${nr("reboot")} 0 0 0`,
          "/probe 1000",
        ].join("; "),
      ],
      withProfile(PROFILES.docker!(), (c) => {
        c.mounts!.push({
          destination: "/usr/local/bin/bun",
          type: "bind",
          source: BUN,
          options: ["bind", "ro"],
        });
      }),
    );
    expect(r.stderr).toBe("");
    expect(lines(r.stdout)).toEqual(["Seccomp:\t2", "42", "ret=-1 errno=1", "ret=-1 errno=38"]);
  });

  test("podman's profile: chroot refused by seccomp when resolved without CAP_SYS_CHROOT, even with the capability", () => {
    const caps = [...PODMAN_CAPS];
    const run = (profile: Seccomp) =>
      runIn(
        env,
        ["sh", "-c", `chroot / /bin/true && echo chroot-ok; /probe ${nr("personality")} ${0x40000}`],
        withProfile(profile, (c) => {
          c.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
        }),
      );
    const without = run(PROFILES["podman-nochroot"]!());
    expect(without.stderr).toContain("chroot: cannot change root directory to '/': Operation not permitted");
    // A persona the profile does not list gets its default errno, ENOSYS.
    expect(lines(without.stdout)).toEqual(["ret=-1 errno=38"]);
    const granted = run(PROFILES.podman!());
    expect(granted.stderr).toBe("");
    expect(lines(granted.stdout)).toEqual(["chroot-ok", "ret=-1 errno=38"]);
  });
});

describe("actions from inside", () => {
  test("SCMP_ACT_ERRNO returns its errno; SCMP_ACT_KILL_PROCESS kills with SIGSYS", () => {
    const profile: Seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        { names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
        { names: ["uname"], action: "SCMP_ACT_KILL_PROCESS" },
      ],
    };
    const r = runIn(
      env,
      ["sh", "-c", `/probe ${nr("mkdir")} 0 0; uname; echo "uname:$?"`],
      withProfile(profile),
    );
    expect(lines(r.stdout)).toEqual(["ret=-1 errno=13", "uname:159"]);
  });

  test("SCMP_ACT_TRAP raises a SIGSYS the process can catch; KILL and KILL_THREAD cannot be caught; TRACE without a tracer is ENOSYS; LOG allows", () => {
    const profile: Seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        { names: ["rmdir"], action: "SCMP_ACT_TRAP" },
        { names: ["link"], action: "SCMP_ACT_KILL" },
        { names: ["unlink"], action: "SCMP_ACT_KILL_THREAD" },
        { names: ["rename"], action: "SCMP_ACT_TRACE", errnoRet: 7 },
        { names: ["getppid"], action: "SCMP_ACT_LOG" },
      ],
    };
    const calls = ["rmdir", "link", "unlink", "rename", "getppid"];
    const r = runIn(
      env,
      ["sh", "-c", calls.map((c) => `/probe ${nr(c)} 0 0; echo "${c}:$?"`).join("; ")],
      withProfile(profile),
    );
    expect(lines(r.stdout)).toEqual([
      "SIGSYS",
      "rmdir:0",
      "link:159",
      "unlink:159",
      "ret=-1 errno=38",
      "rename:0",
      "ret=1 errno=0",
      "getppid:0",
    ]);
  });

  test("loaded early (no noNewPrivileges) the filter also covers the change of user, and still runs", () => {
    const profile: Seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 5 }],
    };
    const r = runIn(
      env,
      ["sh", "-c", `/probe ${nr("getpid")}; id -u`],
      withProfile(profile, (c) => {
        c.process.noNewPrivileges = false;
        c.process.user = { uid: 1000, gid: 1000 };
      }),
    );
    expect(r.stderr).toBe("");
    expect(lines(r.stdout)).toEqual(["ret=-1 errno=5", "1000"]);
  });

  test("SCMP_ACT_NOTIFY: the agent gets the container process state and the fd, and answers", async () => {
    const socket = join(env.dir, `agent-${process.pid}.sock`);
    const stateFile = join(env.dir, "agent-state.json");
    const agent = Bun.spawn([listener, socket, stateFile], { stdio: ["ignore", "ignore", "inherit"] });
    try {
      for (let i = 0; i < 200 && !existsSync(socket); i++) await Bun.sleep(10);
      const id = env.id("notify");
      const bundle = env.bundle(
        id,
        ["/probe", String(nr("mkdir")), "0", "0"],
        withProfile({
          defaultAction: "SCMP_ACT_ALLOW",
          listenerPath: socket,
          listenerMetadata: "agent-metadata",
          syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }],
        }),
      );
      const r = env.bunc(["run", "--bundle", bundle, id]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("ret=42 errno=0\n");
      const state = JSON.parse(readFileSync(stateFile, "utf8"));
      expect(state).toMatchObject({
        ociVersion: "1.3.0",
        fds: ["seccompFd"],
        metadata: "agent-metadata",
        state: { id, status: "created", bundle, annotations: {} },
      });
      expect(state.pid).toBeGreaterThan(1);
      expect(state.state.pid).toBe(state.pid);
      expect(await agent.exited).toBe(0);
    } finally {
      agent.kill(9);
    }
  });
});

describe("profiles that cannot work fail create, naming why, leaving nothing", () => {
  function refused(profile: Seccomp, edit?: (c: Config) => void): string {
    const id = env.id("refused");
    const r = env.bunc(["create", "--bundle", env.bundle(id, ["true"], withProfile(profile, edit)), id]);
    expect(r.code).toBe(1);
    expect(existsSync(join(env.root, id))).toBe(false);
    for (const d of env.cgroupDirs(id)) expect(existsSync(d)).toBe(false);
    return r.stderr;
  }

  test("a profile that blocks execve", () => {
    expect(
      refused({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["execve"], action: "SCMP_ACT_ERRNO" }],
      }),
    ).toBe(
      "bunc: linux.seccomp: the profile does not allow execve, which the container's start needs after the filter is loaded\n",
    );
  });

  test("without noNewPrivileges, a profile that blocks the change of credentials", () => {
    const profile: Seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["capset"], action: "SCMP_ACT_KILL" }],
    };
    expect(refused(profile, (c) => (c.process.noNewPrivileges = false))).toContain(
      "the profile does not allow capset, which the container's start needs after the filter is loaded (without noNewPrivileges the filter is loaded before the credentials change)",
    );
    // With noNewPrivileges it is loaded after that, and runs.
    const r = runIn(env, ["true"], withProfile(profile));
    expect(r.stderr).toBe("");
  });

  test("a filter the kernel refuses (WAIT_KILLABLE_RECV without a listener)", () => {
    expect(
      refused({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] }),
    ).toBe("bunc: linux.seccomp: the kernel refuses the filter: Invalid argument\n");
  });

  test("a listener nobody listens on", () => {
    expect(
      refused({
        defaultAction: "SCMP_ACT_ALLOW",
        listenerPath: join(env.dir, "nobody.sock"),
        syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }],
      }),
    ).toMatch(
      /^bunc: linux\.seccomp\.listenerPath: cannot connect to .*nobody\.sock: No such file or directory\n$/,
    );
  });
});

describe("the filter cache", () => {
  test("compiled filters are kept where only bunc's user can write, and a damaged entry is compiled again", () => {
    const profile = PROFILES.docker!();
    expect(runIn(env, ["true"], withProfile(profile)).code).toBe(0);
    const dir = join(env.root, ".seccomp");
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const entries = require("node:fs").readdirSync(dir) as string[];
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) {
      const st = statSync(join(dir, e));
      expect({ mode: st.mode & 0o777, uid: st.uid }).toEqual({ mode: 0o600, uid: 0 });
      writeFileSync(join(dir, e), "not json");
    }
    const again = runIn(env, ["sh", "-c", "grep '^Seccomp:' /proc/self/status"], withProfile(profile));
    expect(again.stdout).toBe("Seccomp:\t2\n");
  });
});
