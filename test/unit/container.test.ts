import { describe, expect, test } from "bun:test";
import { devMajor, devMinor, makedev } from "../../src/sys/constants.ts";
import { exitCodeOf } from "../../src/launch/console.ts";
import { checkId, MAX_ID_LENGTH } from "../../src/lifecycle/id.ts";
import { parseSignal } from "../../src/lifecycle/signalName.ts";

describe("checkId", () => {
  test.each(["a", "abc", "my-container_1", "A.b+c-d_e", "0", "9abc", "x".repeat(MAX_ID_LENGTH)])(
    "%p is valid and returned as is",
    (id) => {
      expect(checkId(id)).toBe(id);
    },
  );

  test("MAX_ID_LENGTH is 128", () => {
    expect(MAX_ID_LENGTH).toBe(128);
  });

  test("empty or missing id", () => {
    expect(() => checkId("")).toThrow("container id cannot be empty");
    expect(() => checkId(undefined)).toThrow("container id cannot be empty");
  });

  test("over-long id", () => {
    expect(() => checkId("x".repeat(129))).toThrow("container id is longer than 128 characters");
  });

  test.each(["a/b", "..", ".", ".hidden", "-x", "_x", "+x", "a b", "a:b", "é", "a\nb", "/abs"])(
    "%p is refused",
    (id) => {
      expect(() => checkId(id)).toThrow(`invalid container id ${JSON.stringify(id)}`);
    },
  );
});

describe("parseSignal", () => {
  test.each([
    ["TERM", 15],
    ["SIGTERM", 15],
    ["term", 15],
    ["sigterm", 15],
    ["9", 9],
    ["KILL", 9],
    ["SIGKILL", 9],
    ["HUP", 1],
    ["INT", 2],
    ["USR1", 10],
    ["1", 1],
    ["64", 64],
  ])("%p -> %d", (text, n) => {
    expect(parseSignal(text)).toBe(n);
  });

  test.each(["FOO", "0", "65", "", "SIG", "-9", "9x", " TERM", "1.5"])("%p is refused", (text) => {
    expect(() => parseSignal(text)).toThrow(`invalid signal ${JSON.stringify(text)}`);
  });
});

describe("exitCodeOf", () => {
  test("normal exit: the code in bits 8..15", () => {
    expect(exitCodeOf(0)).toBe(0);
    expect(exitCodeOf(0x0300)).toBe(3);
    expect(exitCodeOf(0xff00)).toBe(255);
  });

  test("killed by a signal: 128 + signal", () => {
    expect(exitCodeOf(9)).toBe(137);
    expect(exitCodeOf(15)).toBe(143);
    expect(exitCodeOf(2)).toBe(130);
  });

  test("the core dump bit does not change the signal", () => {
    // SIGSEGV (11) with WCOREFLAG (0x80)
    expect(exitCodeOf(0x8b)).toBe(139);
  });
});

describe("dev_t encoding", () => {
  test("as glibc makedev, major and minor", () => {
    expect(makedev(1, 3)).toBe(0x103);
    expect(makedev(136, 300)).toBe(0x10_88_2c);
    expect(makedev(4096, 1)).toBe(2 ** 44 + 1);
    for (const [maj, min] of [
      [1, 3],
      [136, 300],
      [259, 1048575],
      [4096, 7],
    ] as const) {
      expect(devMajor(makedev(maj, min))).toBe(maj);
      expect(devMinor(makedev(maj, min))).toBe(min);
    }
  });
});
