// config.json -> Config, or one ConfigError naming the JSON path at fault.
import * as v from "valibot";
import { Config } from "./config.ts";
import { ConfigError, jsonPath } from "./errors.ts";
import { firstUnsupported } from "./unsupported.ts";

export function parseConfig(text: string): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError("", `config.json is not valid JSON: ${(e as Error).message}`);
  }
  const result = v.safeParse(Config, raw);
  if (!result.success) {
    const issue = result.issues[0];
    const keys = (issue.path ?? []).map((p) => p.key as string | number);
    const received =
      issue.kind === "schema" && issue.received === "undefined" ? "is required" : issue.message;
    throw new ConfigError(jsonPath(keys) || "config.json", received);
  }
  const unsupported = firstUnsupported(result.output);
  if (unsupported) throw new ConfigError(unsupported, "not supported by bunc yet");
  return result.output;
}
