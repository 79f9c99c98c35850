// A config.json problem, reported as one line that starts with its JSON path.
export class ConfigError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(path ? `${path}: ${reason}` : reason);
  }
}

// Keys such as sysctl names read best dotted; any other key is quoted.
const PLAIN_KEY = /^[A-Za-z0-9_.-]+$/;

export function jsonPath(keys: readonly (string | number)[]): string {
  let out = "";
  for (const k of keys) {
    if (typeof k === "number") out += `[${k}]`;
    else if (!PLAIN_KEY.test(k)) out += `[${JSON.stringify(k)}]`;
    else out += out ? `.${k}` : k;
  }
  return out;
}
