import { describe, expect, test } from "bun:test";
import { table } from "../../src/cli/table.ts";

describe("table", () => {
  test("short cells: columns of the minimum width 12", () => {
    expect(table(["ID", "PID", "STATUS"], [["abc", "1234", "running"]])).toBe(
      "ID          PID         STATUS\nabc         1234        running\n",
    );
  });

  test("a long cell widens its column to its length + 3 padding", () => {
    const out = table(
      ["ID", "PID", "STATUS"],
      [
        ["a-rather-long-id", "1", "created"],
        ["b", "12345678901234", "stopped"],
      ],
    );
    expect(out).toBe(
      [
        `${"ID".padEnd(19)}${"PID".padEnd(17)}STATUS`,
        `a-rather-long-id${" ".repeat(3)}${"1".padEnd(17)}created`,
        `${"b".padEnd(19)}12345678901234${" ".repeat(3)}stopped`,
        "",
      ].join("\n"),
    );
    const lines = out.split("\n");
    expect(lines[0]?.indexOf("PID")).toBe(16 + 3);
    expect(lines[0]?.indexOf("STATUS")).toBe(19 + 14 + 3);
  });

  test("a cell of 9 characters fits the minimum width exactly", () => {
    expect(table(["A", "B"], [["123456789", "x"]])).toBe(`A${" ".repeat(11)}B\n123456789   x\n`);
    expect(table(["A", "B"], [["1234567890", "x"]])).toBe(`A${" ".repeat(12)}B\n1234567890   x\n`);
  });

  test("the last column is not padded and empty trailing cells leave no spaces", () => {
    expect(table(["ID", "OWNER"], [["x", ""]])).toBe("ID          OWNER\nx\n");
  });

  test("header only", () => {
    expect(table(["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], [])).toBe(
      "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n",
    );
  });
});
