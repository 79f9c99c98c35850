// config.json -> Config, or one ConfigError naming the JSON path at fault.
import * as v from "valibot";
import { Config } from "./config.ts";
import { ConfigError, jsonPath } from "./errors.ts";
import { parseExactJson } from "./exactJson.ts";
import { issueText } from "./issues.ts";
import { firstUnsupported } from "./unsupported.ts";

export function parseConfig(text: string): Config {
  let raw: unknown;
  try {
    raw = parseExactJson(text);
  } catch (e) {
    throw new ConfigError("", `config.json is not valid JSON: ${(e as Error).message}`);
  }
  // The first finding is the one reported; the schema's own messages win over issueText.
  const result = v.safeParse(Config, raw, { abortEarly: true, message: issueText });
  if (!result.success) {
    const issue = result.issues[0];
    const keys = (issue.path ?? []).map((p) => p.key as string | number);
    throw new ConfigError(jsonPath(keys) || "config.json", issue.message);
  }
  const unsupported = firstUnsupported(result.output);
  if (unsupported) throw new ConfigError(unsupported, "not supported by bunc yet");
  return result.output;
}
