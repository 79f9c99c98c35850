// Fields of the runtime-spec that bunc does not apply yet. A present field
// from this list is refused at create by its JSON path: never ignored.
import type { Config } from "./config.ts";

const UNSUPPORTED: readonly string[] = ["process.commandLine", "linux.netDevices", "linux.intelRdt"];

// An empty value asks for nothing, so it is not a use of the field.
function present(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.values(value).some(present);
  return true;
}

function lookup(config: Config, path: string): unknown {
  let node: unknown = config;
  for (const key of path.split(".")) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

export function firstUnsupported(config: Config): string | undefined {
  const found = UNSUPPORTED.find((path) => present(lookup(config, path)));
  return found;
}
