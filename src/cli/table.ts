// runc's list table (Go tabwriter: min width 12, padding 3) and owner names.
import { readFileSync } from "node:fs";
import { passwdEntries } from "../sys/passwd.ts";

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(12, ...all.map((r) => (r[c] ?? "").length + 3)));
  return all
    .map((r) =>
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0)))
        .join("")
        .trimEnd(),
    )
    .map((l) => `${l}\n`)
    .join("");
}

let users: Map<number, string> | undefined;

/** A uid's name from /etc/passwd, read once however many containers are listed. */
export function ownerName(uid: number): string {
  if (!users) {
    let text = "";
    try {
      text = readFileSync("/etc/passwd", "utf8");
    } catch {}
    users = new Map(
      passwdEntries(text)
        .map((e) => [e.uid, e.name] as const)
        .reverse(),
    );
  }
  return users.get(uid) ?? `#${uid}`;
}
