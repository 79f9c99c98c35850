// The container's terminal: a pty from the container's own devpts, its peer
// bound on /dev/console, the master sent to whoever holds the console socket.
import { MS, O } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { ErrBuf } from "../sys/mem.ts";
import { ensureInRoot, fdPath, openInRoot } from "../sys/inroot.ts";
import { mount } from "./mount.ts";

/** Returns the pty peer, to become the process's stdio and controlling terminal. */
export function setupConsole(consoleSocket: number, size: { rows: number; cols: number } | null): number {
  const masterOut = new Int32Array(1);
  const peerOut = new Int32Array(1);
  const err = new ErrBuf();
  if (sys.bunc_pty_open(masterOut, peerOut, err.buf, err.len) < 0) throw new Error(err.text());
  const master = masterOut[0] ?? -1;
  const peer = peerOut[0] ?? -1;
  try {
    if (size) check(sys.bunc_set_winsize(master, size.rows, size.cols), "set the console size");
    const root = openInRoot(-100, "/", O.PATH | O.DIRECTORY);
    const consoleFd = ensureInRoot(root, "/dev/console", "file");
    sys.bunc_close(root);
    try {
      mount(fdPath(peer), fdPath(consoleFd), "", MS.BIND, "", "bind the pty on /dev/console");
    } finally {
      sys.bunc_close(consoleFd);
    }
    check(sys.bunc_send_fd(consoleSocket, master), "send the pty master to the console socket");
  } finally {
    sys.bunc_close(master);
    sys.bunc_close(consoleSocket);
  }
  return peer;
}
