// valibot's findings in bunc's own words: "process.user.uid: expected a
// number, got "root"". Custom messages in the schema are kept as they are.
import type * as v from "valibot";

const NOUNS: Record<string, string> = {
  number: "a number",
  bigint: "a number",
  string: "a string",
  boolean: "true or false",
  Object: "an object",
  Array: "a list",
  null: "null",
};

function expected(text: string): string {
  const parts = text.replace(/^\((.*)\)$/, "$1").split(" | ");
  if (parts.every((p) => p.startsWith('"'))) return `one of ${parts.join(", ")}`;
  return [...new Set(parts.map((p) => NOUNS[p] ?? p))].join(" or ");
}

export function issueText(issue: v.BaseIssue<unknown>): string {
  if (issue.kind === "schema") {
    return issue.received === "undefined"
      ? "is required"
      : `expected ${expected(issue.expected ?? "")}, got ${issue.received}`;
  }
  const limit = String((issue as { requirement?: unknown }).requirement);
  switch (issue.type) {
    case "integer":
      return `expected a whole number, got ${issue.received}`;
    case "min_value":
      return `must be at least ${limit}, got ${issue.received}`;
    case "max_value":
      return `must be at most ${limit}, got ${issue.received}`;
    case "min_length":
      return limit === "1" ? "must not be empty" : `must have at least ${limit} entries`;
    default:
      return `is not valid (${issue.received})`;
  }
}
