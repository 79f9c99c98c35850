// What reaches the user when something fails: one line, bunc's own errors
// as they are, faults named as faults.
import { expect, test } from "bun:test";
import { ConfigError } from "../../src/oci/errors.ts";
import { errorLine, FieldError, forField, isInternal } from "../../src/sys/errors.ts";

test("errors bunc raises on purpose are shown as they are", () => {
  expect(isInternal(new Error("cannot read x"))).toBe(false);
  expect(isInternal(new ConfigError("process.cwd", "is required"))).toBe(false);
  expect(errorLine(new ConfigError("process.cwd", "is required"))).toBe("process.cwd: is required");
});

test("a fault in bunc is named as one, never shown as a stack or source", () => {
  for (const e of [new TypeError("x is undefined"), new RangeError("out of range"), "thrown string"]) {
    expect(isInternal(e)).toBe(true);
  }
  expect(errorLine(new RangeError("The value is out of range"))).toBe(
    "internal error: RangeError: The value is out of range",
  );
  expect(errorLine(42)).toBe("internal error: 42");
});

test("control characters cannot split the line", () => {
  expect(errorLine(new Error("cgroup /a\nb\u0000c"))).toBe("cgroup /a\\x0ab\\x00c");
});

test("forField prefixes the field once", () => {
  expect(() =>
    forField("mounts[3]", () =>
      forField("mounts[3]", () => {
        throw new Error("mount nosuchfs on /x: No such device");
      }),
    ),
  ).toThrow(new FieldError("mounts[3]: mount nosuchfs on /x: No such device"));
});
