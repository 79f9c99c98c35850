// Length-prefixed JSON messages over the socket between runtime and init.
import { readSync, writeSync } from "node:fs";

export function sendMessage(fd: number, msg: unknown): void {
  const body = Buffer.from(JSON.stringify(msg));
  const frame = Buffer.alloc(4 + body.length);
  frame.writeUInt32LE(body.length, 0);
  body.copy(frame, 4);
  for (let off = 0; off < frame.length; ) off += writeSync(fd, frame, off);
}

function readExactly(fd: number, n: number): Buffer | null {
  const buf = Buffer.alloc(n);
  for (let off = 0; off < n; ) {
    const got = readSync(fd, buf, off, n - off, null);
    if (got === 0) return null;
    off += got;
  }
  return buf;
}

/** The next message, or null when the other side closed the socket. */
export function receiveMessage<T>(fd: number): T | null {
  const head = readExactly(fd, 4);
  if (!head) return null;
  const body = readExactly(fd, head.readUInt32LE(0));
  if (!body) return null;
  return JSON.parse(body.toString("utf8")) as T;
}
