// Flags `create` and `run` share.
export const createFlags = {
  bundle: { type: "string", alias: "b", default: ".", description: "path to the bundle directory" },
  "pid-file": { type: "string", description: "file to write the container process's pid to" },
  "console-socket": {
    type: "string",
    description: "unix socket to send the pty master to (process.terminal)",
  },
  "no-pivot": { type: "boolean", description: "not supported yet" },
  "no-new-keyring": {
    type: "boolean",
    description: "do not create a session keyring (bunc does not create one yet)",
  },
  "preserve-fds": { type: "string", description: "not supported yet (only 0)" },
} as const;

export function refuseUnsupportedCreateFlags(args: { "no-pivot"?: boolean; "preserve-fds"?: string }): void {
  if (args["no-pivot"]) throw new Error("--no-pivot: not supported by bunc yet");
  const preserve = args["preserve-fds"];
  if (preserve !== undefined && preserve !== "0")
    throw new Error("--preserve-fds: not supported by bunc yet");
}
