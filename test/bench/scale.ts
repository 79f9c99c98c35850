// Scale in the benchmark: bunc's `create` of one more container, `state`
// and `kill` of one, and `list`, timed with 1 container and again with N
// running `sleep` (N from --scale), each as the median of a few runs. A
// verb asked about one container should not scan them all; `list` reads
// every one by nature.
import { must, sh } from "./command.ts";
import { fmtMs, type Stat, stat, table } from "./stats.ts";

const VERBS = ["create", "state", "kill", "list"] as const;
type Verb = (typeof VERBS)[number];

export interface ScaleReport {
  readonly containers: number;
  readonly one: Record<Verb, Stat | null>;
  readonly many: Record<Verb, Stat | null>;
  /** bunc processes left running with N containers up: none should stay resident. */
  readonly residentBuncProcesses: number;
}

type BundleFor = (id: string, args: string[]) => string;

export class ScaleBench {
  private readonly made: string[] = [];

  constructor(
    private readonly bunc: { path: string; root: string },
    private readonly bundleFor: BundleFor,
  ) {}

  private run(args: string[]) {
    return must([this.bunc.path, "--root", this.bunc.root, ...args]);
  }

  private startOne(id: string): void {
    this.run(["run", "-d", "--bundle", this.bundleFor(id, ["/bin/sleep", "1000"]), id]);
    this.made.push(id);
  }

  /** The four verbs, `runs` times each, with the containers up now. */
  private time(tag: string, runs: number): Record<Verb, Stat | null> {
    const ms: Record<Verb, number[]> = { create: [], state: [], kill: [], list: [] };
    const target = this.made[0] ?? "";
    for (let i = 0; i < runs; i++) {
      const id = `scale-${tag}-${i}`;
      ms.create.push(this.run(["create", "--bundle", this.bundleFor(id, ["/bin/sleep", "1000"]), id]).ms);
      this.run(["delete", "--force", id]);
      ms.state.push(this.run(["state", target]).ms);
      // SIGCONT: delivered, and harmless to a sleep.
      ms.kill.push(this.run(["kill", target, "CONT"]).ms);
      ms.list.push(this.run(["list"]).ms);
    }
    return { create: stat(ms.create), state: stat(ms.state), kill: stat(ms.kill), list: stat(ms.list) };
  }

  measure(containers: number, runs: number): ScaleReport {
    this.startOne("scale-0");
    const one = this.time("one", runs);
    for (let i = 1; i < containers; i++) this.startOne(`scale-${i}`);
    const many = this.time("many", runs);
    // Live ones only: an init killed before its execve stays a zombie named bunc until pid 1 reaps it.
    const resident = sh(["ps", "-C", "bunc", "-o", "stat="])
      .stdout.split("\n")
      .filter((st) => st.trim() && !st.trim().startsWith("Z")).length;
    return { containers, one, many, residentBuncProcesses: resident };
  }

  close(): void {
    for (const id of this.made) must([this.bunc.path, "--root", this.bunc.root, "delete", "--force", id]);
  }
}

export function printScale(r: ScaleReport): string {
  const rows = [["bunc with 1 and with N containers running", "1", `${r.containers}`, "ratio"]];
  for (const v of VERBS) {
    const a = r.one[v]?.median;
    const b = r.many[v]?.median;
    rows.push([v, fmtMs(a), fmtMs(b), a && b ? `${(b / a).toFixed(2)}x` : "n/a"]);
  }
  rows.push(["bunc processes resident", "", String(r.residentBuncProcesses), ""]);
  return table(rows);
}
