// Statistics and table layout for the benchmark report.

export interface Stat {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
}

function quantile(sorted: number[], q: number): number {
  // Nearest rank: an observed value, no interpolation.
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function stat(samples: number[]): Stat | null {
  if (samples.length === 0) return null;
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { n: s.length, median, p90: quantile(s, 0.9), min: s[0]!, max: s[s.length - 1]! };
}

export const fmtMs = (x: number | undefined) => (x === undefined ? "" : x.toFixed(1));
export const fmtMiB = (kib: number | undefined) =>
  kib === undefined ? "n/a" : kib < 1024 ? `${kib} KiB` : `${(kib / 1024).toFixed(1)} MiB`;

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows
    .map((r) =>
      r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "),
    )
    .join("\n");
}

export const fmtNs = (st: Stat | null) => (st ? `${st.median.toFixed(0)} ns` : "n/a");
