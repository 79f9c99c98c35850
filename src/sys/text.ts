// Control characters in text that ends up on one line (an error message, a
// log line) or in a path the kernel reads.

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const CONTROL = /[\x00-\x1f\x7f]/g;

export const hasControl = (s: string) => s.search(CONTROL) >= 0;

/** The text with each control character written as \xNN. */
export const escapeControl = (s: string) =>
  s.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
