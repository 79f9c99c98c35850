// Debug tracing for the library, switched on by the CLI's --debug: each
// line carries the milliseconds since the process started, which is how
// start-up and per-step costs are found.
let sink: ((msg: string) => void) | undefined;

export function setDebugSink(fn: (msg: string) => void): void {
  sink = fn;
}

export function debug(msg: string): void {
  sink?.(`${performance.now().toFixed(2)}ms ${msg}`);
}
