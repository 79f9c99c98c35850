// `ps`: which arguments are bunc's and which go to the host's ps (runc
// stops parsing at the id), and how its output is cut to the container's rows.
import { expect, test } from "bun:test";
import { splitPsArgs } from "../../src/cli/commands/ps.ts";
import { filterPsOutput } from "../../src/lifecycle/ps.ts";

test("everything after the id goes to ps, flags included; a -- around the id is dropped", () => {
  expect(splitPsArgs(["c1"])).toEqual({ own: [], id: "c1", psArgs: [] });
  expect(splitPsArgs(["c1", "-o", "pid,comm"])).toEqual({ own: [], id: "c1", psArgs: ["-o", "pid,comm"] });
  expect(splitPsArgs(["c1", "--", "-o", "pid"])).toEqual({ own: [], id: "c1", psArgs: ["-o", "pid"] });
  expect(splitPsArgs(["--format", "json", "c1"])).toEqual({
    own: ["--format", "json"],
    id: "c1",
    psArgs: [],
  });
  expect(splitPsArgs(["-f", "json", "--", "c1", "aux"])).toEqual({
    own: ["-f", "json"],
    id: "c1",
    psArgs: ["aux"],
  });
  // After the id, even bunc's own flag is an option of ps, as in runc.
  expect(splitPsArgs(["c1", "-f", "json"])).toEqual({ own: [], id: "c1", psArgs: ["-f", "json"] });
  expect(splitPsArgs(["--format=json"]).id).toBeUndefined();
});

const PS = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 09:00 ?        00:00:01 /sbin/init
root         200       1  0 09:01 ?        00:00:00 sleep 100
root        2000       1  0 09:01 ?        00:00:00 sh -c 200 PID
`;

test("the header and the rows whose PID column is the container's", () => {
  expect(filterPsOutput(PS, [200, 2000])).toBe(
    `UID          PID    PPID  C STIME TTY          TIME CMD
root         200       1  0 09:01 ?        00:00:00 sleep 100
root        2000       1  0 09:01 ?        00:00:00 sh -c 200 PID
`,
  );
  expect(filterPsOutput(PS, [])).toBe("UID          PID    PPID  C STIME TTY          TIME CMD\n");
});

test("output without a PID column, or a row without a pid in it, is an error", () => {
  expect(() => filterPsOutput("COMMAND\nsleep\n", [1])).toThrow("couldn't find PID field in ps output");
  expect(() => filterPsOutput("PID CMD\nabc sleep\n", [1])).toThrow('unable to parse pid "abc"');
});
