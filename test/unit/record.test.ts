// A plugin's record of what it made: replaced whole, never rewritten in place.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readMade, saveMade } from "../../hooks/record.ts";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bunc-record-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("a new record replaces the file: one reading the old one still reads it whole", () => {
  saveMade(dir, { step: 1, names: ["a", "b"] });
  const old = openSync(join(dir, "made.json"), "r");
  try {
    saveMade(dir, { step: 2 });
    expect(readFileSync(old, "utf8")).toBe('{"step":1,"names":["a","b"]}');
  } finally {
    closeSync(old);
  }
  expect(readMade(dir)).toEqual({ step: 2 });
  expect(readdirSync(dir)).toEqual(["made.json"]);
});
