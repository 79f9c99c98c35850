// Checking parsed input against a schema: the first finding, as a
// ConfigError at its JSON path (under `under`, the input's own place).
import * as v from "valibot";
import { ConfigError, jsonPath } from "./errors.ts";
import { issueText } from "./issues.ts";

export function checked<S extends v.GenericSchema>(
  schema: S,
  raw: unknown,
  under: readonly (string | number)[] = [],
): v.InferOutput<S> {
  // The first finding is the one reported; the schema's own messages win over issueText.
  const r = v.safeParse(schema, raw, { abortEarly: true, message: issueText });
  if (r.success) return r.output;
  const issue = r.issues[0];
  throw new ConfigError(
    jsonPath([...under, ...(issue.path ?? []).map((p) => p.key as string | number)]),
    issue.message,
  );
}
