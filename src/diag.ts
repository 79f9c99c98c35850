// What the library reports besides its result: debug lines (with --debug)
// and warnings. The CLI decides where they go; without it they go nowhere.
let debugSink: ((msg: string) => void) | undefined;
let warnSink: ((msg: string) => void) | undefined;

export function setDiagSinks(sinks: { debug?: (msg: string) => void; warn?: (msg: string) => void }): void {
  debugSink = sinks.debug;
  warnSink = sinks.warn;
}

/** A step and the milliseconds since the process started: how start-up and per-step costs are found. */
export function debug(msg: string): void {
  debugSink?.(`${performance.now().toFixed(2)}ms ${msg}`);
}

/** Something the user asked for that bunc does differently, and goes on. */
export function warn(msg: string): void {
  warnSink?.(msg);
}
