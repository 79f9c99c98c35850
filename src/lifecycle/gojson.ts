// JSON as Go's encoding/json writes it for the output runc's users parse
// (`events`): u64 values above 2^53 printed exactly from bigints, which
// JSON.stringify refuses; undefined keys left out (the omitempty fields the
// caller dropped); <, > and & escaped as Go's encoder escapes them.
const GO_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

function str(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c] ?? c);
}

/** One value as compact JSON, in the key order of its objects. */
export function goJson(value: unknown): string {
  switch (typeof value) {
    case "bigint":
      return value.toString();
    case "string":
      return str(value);
    case "number":
      if (!Number.isFinite(value)) throw new Error(`cannot encode ${value} as JSON`);
      return JSON.stringify(value);
    case "boolean":
      return String(value);
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) return `[${value.map(goJson).join(",")}]`;
      const parts: string[] = [];
      for (const [k, v] of Object.entries(value)) if (v !== undefined) parts.push(`${str(k)}:${goJson(v)}`);
      return `{${parts.join(",")}}`;
    }
    default:
      throw new Error(`cannot encode a ${typeof value} as JSON`);
  }
}
