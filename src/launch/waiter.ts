// The waiter (ffi/waiter/): the small static program an init execs to wait
// for `start` in its place. The binary carries it; each init gets it as a
// sealed memfd, executed from the fd, so nothing in the container can
// change what runs or find it by path.
import { readFileSync } from "node:fs";
import waiterPath from "../../build/bunc-wait.elf" with { type: "file" };
import { memfdOf } from "../sys/libc.ts";
import { checkObject } from "../sys/target.ts";

export function waiterMemfd(): number {
  const bytes = readFileSync(waiterPath);
  checkObject(bytes, "the waiter");
  return memfdOf("bunc-wait", bytes, true);
}
