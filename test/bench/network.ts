// The network part of the benchmark, in a network namespace of its own
// (pinned in the bench's temp dir; nothing on the host's network changes):
// `bunc run` of /bin/true without the network plugin, with it, and with a
// published port; then the published port's forwarder against a direct
// connection to the container: sequential TCP exchanges (connect, one
// message, its echo, close), their latency and how many a second.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { must, sh } from "./command.ts";
import { fmtMs, type Stat, stat, table } from "./stats.ts";

export const NETWORK_CASES = [
  "no network plugin",
  "network plugin",
  "network plugin, one published port",
] as const;
type NetworkCase = (typeof NETWORK_CASES)[number];

export interface NetworkSamples {
  run: Record<NetworkCase, number[]>;
  /** Microseconds of one exchange. */
  direct: number[];
  proxied: number[];
}

export const emptyNetworkSamples = (): NetworkSamples => ({
  run: Object.fromEntries(NETWORK_CASES.map((c) => [c, []])) as unknown as Record<NetworkCase, number[]>,
  direct: [],
  proxied: [],
});

interface Bunc {
  readonly path: string;
  readonly root: string;
}

export class NetworkBench {
  private readonly ns: string;
  private readonly hooks: string;
  readonly tool: string;

  constructor(
    tmp: string,
    private readonly bunc: Bunc,
  ) {
    this.ns = join(tmp, "netns");
    this.hooks = join(tmp, "net-hooks.d");
    this.tool = join(tmp, "tcptool");
    writeFileSync(this.ns, "");
    must(["unshare", `--net=${this.ns}`, "true"]);
    must(this.in(["ip", "link", "set", "lo", "up"]));
    mkdirSync(this.hooks, { recursive: true });
    must([bunc.path, "hooks", "install", "network", "--dir", this.hooks]);
    must(["cc", "-static", "-O2", "-o", this.tool, resolve(import.meta.dir, "../fixtures/tcptool.c")]);
  }

  private in(argv: string[]): string[] {
    return ["nsenter", `--net=${this.ns}`, "--", ...argv];
  }

  private bunc_(args: string[]): string[] {
    return this.in([this.bunc.path, "--root", this.bunc.root, "--hooks-dir", this.hooks, ...args]);
  }

  private annotate(bundle: string, annotations: Record<string, string>): void {
    const file = join(bundle, "config.json");
    const cfg = JSON.parse(readFileSync(file, "utf8"));
    cfg.annotations = annotations;
    cfg.mounts.push({ destination: "/tcptool", type: "bind", source: this.tool, options: ["bind", "ro"] });
    writeFileSync(file, JSON.stringify(cfg));
  }

  timeRuns(bundleFor: (id: string, args: string[]) => string, i: number, s: NetworkSamples): void {
    NETWORK_CASES.forEach((c, n) => {
      const id = `bunc-net-${n}-${i}`;
      const bundle = bundleFor(id, ["/bin/true"]);
      if (c !== "no network plugin")
        this.annotate(bundle, {
          "bunc.network": "bridge",
          ...(c === "network plugin, one published port"
            ? { "bunc.network.publish": `${19000 + n}:7000` }
            : {}),
        });
      s.run[c].push(must(this.bunc_(["run", "--bundle", bundle, id])).ms);
    });
  }

  /** One echo server container; `exchanges` sequential exchanges straight to it and through its published port. */
  timeForwarder(
    bundleFor: (id: string, args: string[]) => string,
    exchanges: number,
    s: NetworkSamples,
  ): void {
    const id = "bunc-net-server";
    const bundle = bundleFor(id, ["/tcptool", "serve", "7000"]);
    this.annotate(bundle, { "bunc.network": "bridge", "bunc.network.publish": "18080:7000" });
    must(this.bunc_(["run", "-d", "--bundle", bundle, id]));
    try {
      const state = JSON.parse(must([this.bunc.path, "--root", this.bunc.root, "state", id]).stdout);
      const ip = String(state.annotations["bunc.network.ip"]).split("/")[0] ?? "";
      for (let i = 0; i < 100 && sh(this.in([this.tool, "send", ip, "7000", "up?"])).code !== 0; i++)
        Bun.sleepSync(20);
      const micros = (host: string, port: string) =>
        must(this.in([this.tool, "bench", host, port, String(exchanges)]))
          .stdout.trim()
          .split("\n")
          .map(Number);
      // Interleaved in rounds, so that both see the same machine.
      for (let round = 0; round < 5; round++) {
        s.direct.push(...micros(ip, "7000"));
        s.proxied.push(...micros("127.0.0.1", "18080"));
      }
    } finally {
      sh(this.bunc_(["delete", "--force", id]));
    }
  }

  /** Unpins the namespace (containers are gone by now). */
  close(): void {
    sh(["umount", this.ns]);
  }
}

export function printNetwork(s: NetworkSamples): { stats: Record<string, Stat | null>; text: string } {
  const runs = Object.fromEntries(NETWORK_CASES.map((c) => [c, stat(s.run[c])])) as Record<
    NetworkCase,
    Stat | null
  >;
  const rows = [["bunc run of /bin/true", "median", "p90"]];
  for (const c of NETWORK_CASES) rows.push([c, fmtMs(runs[c]?.median), fmtMs(runs[c]?.p90)]);
  const direct = stat(s.direct);
  const proxied = stat(s.proxied);
  const perSecond = (st: Stat | null) => (st ? (1e6 / st.median).toFixed(0) : "n/a");
  const fwd = [
    ["TCP exchange (connect, echo, close)", "median µs", "p90 µs", "per second"],
    [
      "direct to the container",
      direct?.median.toFixed(0) ?? "n/a",
      direct?.p90.toFixed(0) ?? "n/a",
      perSecond(direct),
    ],
    [
      "through the published port",
      proxied?.median.toFixed(0) ?? "n/a",
      proxied?.p90.toFixed(0) ?? "n/a",
      perSecond(proxied),
    ],
  ];
  return {
    stats: { ...runs, direct, proxied },
    text: `${table(rows)}\n\n${table(fwd)}`,
  };
}
