// Go's time.ParseDuration, which runc's --interval flag takes: a sequence
// of decimal numbers, each with an optional fraction and a unit ("300ms",
// "1.5h", "2h45m"), optionally signed; "0" alone needs no unit.

const NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5, micro sign
  μs: 1_000n, // U+03BC, Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const MAX_I64 = (1n << 63n) - 1n;

/** Nanoseconds, as an int64 would hold them; errors are worded as Go words them. */
export function parseDuration(text: string): bigint {
  const quoted = `"${text}"`;
  let s = text;
  let negative = false;
  if (s.startsWith("-") || s.startsWith("+")) {
    negative = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw new Error(`time: invalid duration ${quoted}`);
  let total = 0n;
  while (s !== "") {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    const whole = m?.[1] ?? "";
    const fraction = m?.[2];
    if (!m || (whole === "" && !fraction)) throw new Error(`time: invalid duration ${quoted}`);
    s = s.slice(m[0].length);
    const unitEnd = s.search(/[\d.]/);
    const unit = unitEnd < 0 ? s : s.slice(0, unitEnd);
    s = s.slice(unit.length);
    if (unit === "") throw new Error(`time: missing unit in duration ${quoted}`);
    const scale = NS[unit];
    if (scale === undefined) throw new Error(`time: unknown unit "${unit}" in duration ${quoted}`);
    let v = BigInt(whole || "0") * scale;
    // The fraction is truncated to whole nanoseconds.
    if (fraction) v += (BigInt(fraction) * scale) / 10n ** BigInt(fraction.length);
    total += v;
    if (total > MAX_I64 + (negative ? 1n : 0n)) throw new Error(`time: invalid duration ${quoted}`);
  }
  return negative ? -total : total;
}
