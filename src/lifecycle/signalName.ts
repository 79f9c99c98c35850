// Signal names as kill takes them (`KILL`, `SIGKILL`, `9`), in a module of
// their own: node:os, which holds the table, is no cost delete needs to pay.
import { constants } from "node:os";

/** A signal given as a name (with or without SIG) or a number. */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
    const n = (constants.signals as Record<string, number>)[name];
    if (n !== undefined) return n;
  }
  throw new Error(`invalid signal ${JSON.stringify(text)}`);
}
