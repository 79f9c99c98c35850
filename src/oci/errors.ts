// A config.json problem, reported as one line that starts with its JSON path.
export class ConfigError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(path ? `${path}: ${reason}` : reason);
  }
}

export function jsonPath(keys: readonly (string | number)[]): string {
  let out = "";
  for (const k of keys) out += typeof k === "number" ? `[${k}]` : out ? `.${k}` : k;
  return out;
}
