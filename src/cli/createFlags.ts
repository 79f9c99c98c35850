// Flags `create` and `run` share.
export const createFlags = {
  bundle: { type: "string", alias: "b", default: ".", description: "path to the bundle directory" },
  "pid-file": { type: "string", description: "file to write the container process's pid to" },
  "console-socket": {
    type: "string",
    description: "unix socket to send the pty master to (process.terminal)",
  },
  // citty reads --no-X as X=false: these are runc's --no-pivot and --no-new-keyring.
  pivot: {
    type: "boolean",
    default: true,
    negativeDescription: "move the rootfs onto / and chroot instead of pivot_root (roots on a ramdisk)",
  },
  "new-keyring": {
    type: "boolean",
    default: true,
    negativeDescription: "keep the caller's session keyring instead of one named after the container",
  },
  "preserve-fds": {
    type: "string",
    description: "pass the caller's fds 3 to 3+N-1 to the container process (after any LISTEN_FDS)",
  },
} as const;
