import { afterEach, describe, expect, test } from "bun:test";
import { receiveMessage, sendMessage } from "../../src/protocol/channel.ts";
import { sys } from "../../src/sys/lib.ts";

const open: number[] = [];

function socketPair(): [number, number] {
  const fds = new Int32Array(2);
  expect(sys.bunc_socketpair(fds)).toBe(0);
  const a = fds[0] ?? -1;
  const b = fds[1] ?? -1;
  expect(a).toBeGreaterThan(2);
  expect(b).toBeGreaterThan(2);
  open.push(a, b);
  return [a, b];
}

function close(fd: number): void {
  expect(sys.bunc_close(fd)).toBe(0);
  open.splice(open.indexOf(fd), 1);
}

afterEach(() => {
  for (const fd of open.splice(0)) sys.bunc_close(fd);
});

describe("channel", () => {
  test("a JSON object makes the round trip", () => {
    const [a, b] = socketPair();
    const msg = { op: "start", pid: 42, args: ["sh", "-c", "echo é ✓"], nested: { ok: true, none: null } };
    sendMessage(a, msg);
    expect(receiveMessage<typeof msg>(b)).toEqual(msg);
  });

  test("messages arrive in order, in both directions", () => {
    const [a, b] = socketPair();
    sendMessage(a, 1);
    sendMessage(a, "two");
    sendMessage(a, [3]);
    sendMessage(b, { back: true });
    expect(receiveMessage(b)).toBe(1);
    expect(receiveMessage(b)).toBe("two");
    expect(receiveMessage(b)).toEqual([3]);
    expect(receiveMessage(a)).toEqual({ back: true });
  });

  test("a message larger than the socket buffer", async () => {
    const [a, b] = socketPair();
    const big = { data: "x".repeat(1 << 20) };
    // 1 MiB does not fit the socket buffer: the writer blocks until the
    // reader drains, so it runs in a child process that gets the fd as 3.
    const writer = Bun.spawn(
      [
        process.execPath,
        "-e",
        `const { sendMessage } = await import(${JSON.stringify(`${import.meta.dir}/../../src/protocol/channel.ts`)});
         sendMessage(3, { data: "x".repeat(1 << 20) });`,
      ],
      { stdio: ["ignore", "ignore", "inherit", a] },
    );
    close(a);
    expect(receiveMessage(b)).toEqual(big);
    expect(await writer.exited).toBe(0);
    expect(receiveMessage(b)).toBeNull();
  });

  test("the frame is a little-endian u32 length then the JSON text", () => {
    const [a, b] = socketPair();
    sendMessage(a, { k: "v" });
    close(a);
    const { readSync } = require("node:fs") as typeof import("node:fs");
    const buf = Buffer.alloc(64);
    const n = readSync(b, buf, 0, 64, null);
    expect(n).toBe(4 + 9);
    expect(buf.readUInt32LE(0)).toBe(9);
    expect(buf.toString("utf8", 4, n)).toBe('{"k":"v"}');
  });

  test("receiveMessage returns null after the writer end is closed", () => {
    const [a, b] = socketPair();
    sendMessage(a, { last: 1 });
    close(a);
    expect(receiveMessage(b)).toEqual({ last: 1 });
    expect(receiveMessage(b)).toBeNull();
  });

  test("receiveMessage returns null on a frame cut short", () => {
    const [a, b] = socketPair();
    const { writeSync } = require("node:fs") as typeof import("node:fs");
    const frame = Buffer.alloc(6);
    frame.writeUInt32LE(10, 0);
    frame.write("{}", 4);
    writeSync(a, frame);
    close(a);
    expect(receiveMessage(b)).toBeNull();
  });
});
