// config.json -> Config, or one ConfigError naming the JSON path at fault.
import { Config } from "./config.ts";
import { checked } from "./checked.ts";
import { ConfigError } from "./errors.ts";
import { parseExactJson } from "./exactJson.ts";
import { firstUnsupported } from "./unsupported.ts";

export function parseConfig(text: string): Config {
  let raw: unknown;
  try {
    raw = parseExactJson(text);
  } catch (e) {
    throw new ConfigError("", `config.json is not valid JSON: ${(e as Error).message}`);
  }
  let config: Config;
  try {
    config = checked(Config, raw);
  } catch (e) {
    if (e instanceof ConfigError && e.path === "") throw new ConfigError("config.json", e.message);
    throw e;
  }
  const unsupported = firstUnsupported(config);
  if (unsupported) throw new ConfigError(unsupported, "not supported by bunc yet");
  return config;
}
