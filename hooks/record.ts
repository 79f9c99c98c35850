// What a plugin made for a container, recorded in a directory of its own
// under the state root (made.json) after each step, so that poststop, or
// the step that failed, undoes exactly that.
import { readFileSync, writeFileSync } from "node:fs";

export function saveMade(dir: string, made: object): void {
  writeFileSync(`${dir}/made.json`, JSON.stringify(made), { mode: 0o600 });
}

/** The record, or null when nothing was recorded yet. */
export function readMade<T>(dir: string): T | null {
  try {
    return JSON.parse(readFileSync(`${dir}/made.json`, "utf8")) as T;
  } catch {
    return null;
  }
}
