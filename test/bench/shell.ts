// Shell mode in the benchmark: `bunc run --rootfs ROOT -- /bin/true`
// against bubblewrap and util-linux's unshare on the same root, each with
// new mount, pid, network, ipc and uts namespaces and a fresh /proc.
import { join } from "node:path";
import { must, which } from "./command.ts";
import { fmtMs, type Stat, stat, table } from "./stats.ts";

export interface ShellSamples {
  bunc: number[];
  bwrap: number[];
  unshare: number[];
}

export const emptyShellSamples = (): ShellSamples => ({ bunc: [], bwrap: [], unshare: [] });

export function timeShell(
  bunc: { path: string; root: string },
  tmp: string,
  cgroupParent: string,
  s: ShellSamples,
): void {
  const root = join(tmp, "rootfs");
  s.bunc.push(
    must([
      bunc.path,
      "--root",
      bunc.root,
      "run",
      "--rootfs",
      root,
      "--cgroup-parent",
      cgroupParent,
      "--",
      "/bin/true",
    ]).ms,
  );
  if (which("bwrap"))
    s.bwrap.push(
      must([
        "bwrap",
        "--bind",
        root,
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--unshare-all",
        "--die-with-parent",
        "/bin/true",
      ]).ms,
    );
  s.unshare.push(
    must([
      "unshare",
      "--mount",
      "--pid",
      "--net",
      "--ipc",
      "--uts",
      "--fork",
      `--root=${root}`,
      "--mount-proc",
      "/bin/true",
    ]).ms,
  );
}

export function printShell(s: ShellSamples): {
  stats: Record<keyof ShellSamples, Stat | null>;
  text: string;
} {
  const stats = { bunc: stat(s.bunc), bwrap: stat(s.bwrap), unshare: stat(s.unshare) };
  const rows = [["run of /bin/true on one root (no bundle)", "median", "p90"]];
  rows.push(["bunc run --rootfs", fmtMs(stats.bunc?.median), fmtMs(stats.bunc?.p90)]);
  rows.push([
    "bwrap --unshare-all",
    stats.bwrap ? fmtMs(stats.bwrap.median) : "not installed",
    fmtMs(stats.bwrap?.p90),
  ]);
  rows.push(["unshare -mpniu --root --mount-proc", fmtMs(stats.unshare?.median), fmtMs(stats.unshare?.p90)]);
  return { stats, text: table(rows) };
}
