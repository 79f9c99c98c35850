// Rootless in the benchmark: `run` of /bin/true by an ordinary user (a
// throwaway account made for the run and removed after), bunc's shell mode
// beside `bwrap --unshare-all` and crun with `crun spec --rootless`, each on
// the same root. A runtime that cannot run rootless on this host is shown
// with its reason.
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { must, sh, which } from "./command.ts";
import { fmtMs, type Stat, stat, table } from "./stats.ts";

export interface RootlessSamples {
  bunc: number[];
  bwrap: number[];
  crun: number[];
  /** Why a runtime did not run (its first failure). */
  failed: Partial<Record<"bunc" | "bwrap" | "crun", string>>;
}

export const emptyRootlessSamples = (): RootlessSamples => ({ bunc: [], bwrap: [], crun: [], failed: {} });

export class RootlessBench {
  private readonly name = `bunc-bench-${process.pid % 100000}`;
  private readonly uid: number;
  private readonly gid: number;
  private readonly xdg: string;
  private readonly crunBundle: string;

  constructor(
    private readonly tmp: string,
    private readonly bunc: string,
  ) {
    // The user must reach the shared root below the benchmark's directory.
    chmodSync(tmp, 0o755);
    must(["useradd", "--no-create-home", "--shell", "/bin/sh", this.name]);
    this.uid = Number(must(["id", "-u", this.name]).stdout.trim());
    this.gid = Number(must(["id", "-g", this.name]).stdout.trim());
    this.xdg = join(tmp, "rootless-xdg");
    mkdirSync(this.xdg, { mode: 0o700 });
    chownSync(this.xdg, this.uid, this.gid);
    this.crunBundle = join(tmp, "rootless-crun");
    mkdirSync(this.crunBundle);
    chownSync(this.crunBundle, this.uid, this.gid);
    if (which("crun")) {
      this.asUser(["crun", "spec", "--rootless"], this.crunBundle);
      const path = join(this.crunBundle, "config.json");
      const c = JSON.parse(readFileSync(path, "utf8"));
      c.process.args = ["/bin/true"];
      c.process.terminal = false;
      c.root.path = join(tmp, "rootfs");
      writeFileSync(path, JSON.stringify(c));
    }
  }

  private asUser(argv: string[], cwd = this.tmp) {
    const user = ["setpriv", `--reuid=${this.uid}`, `--regid=${this.gid}`, "--clear-groups", "--"];
    const env = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", `XDG_RUNTIME_DIR=${this.xdg}`];
    return sh(["sh", "-c", 'cd "$0" && exec "$@"', cwd, ...user, ...env, ...argv]);
  }

  private time(which: "bunc" | "bwrap" | "crun", argv: string[], s: RootlessSamples, cwd?: string): void {
    if (s.failed[which]) return;
    const r = this.asUser(argv, cwd);
    if (r.code === 0) s[which].push(r.ms);
    else s.failed[which] = (r.stderr.trim().split("\n")[0] ?? "").slice(0, 80) || `exit ${r.code}`;
  }

  timeRuns(i: number, s: RootlessSamples): void {
    const root = join(this.tmp, "rootfs");
    this.time("bunc", [this.bunc, "run", "--rootfs", root, "--", "/bin/true"], s);
    if (which("bwrap"))
      this.time(
        "bwrap",
        ["bwrap", "--bind", root, "/", "--proc", "/proc", "--dev", "/dev", "--unshare-all", "/bin/true"],
        s,
      );
    if (which("crun")) this.time("crun", ["crun", "run", `rl${i}`], s, this.crunBundle);
  }

  close(): void {
    sh(["userdel", this.name]);
  }
}

export function printRootless(s: RootlessSamples): {
  stats: Record<"bunc" | "bwrap" | "crun", Stat | null>;
  text: string;
} {
  const stats = { bunc: stat(s.bunc), bwrap: stat(s.bwrap), crun: stat(s.crun) };
  const rows = [["rootless run of /bin/true (an ordinary user)", "median", "p90"]];
  const row = (label: string, k: "bunc" | "bwrap" | "crun") =>
    rows.push([label, s.failed[k] ? `fails: ${s.failed[k]}` : fmtMs(stats[k]?.median), fmtMs(stats[k]?.p90)]);
  row("bunc run --rootfs", "bunc");
  row("bwrap --unshare-all", "bwrap");
  row("crun run (crun spec --rootless)", "crun");
  return { stats, text: table(rows) };
}
