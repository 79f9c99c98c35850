// Finds the program to exec before the init reports ready, so that a missing
// command fails `create` (as with runc) rather than the started container.
import { statSync } from "node:fs";
import { posix } from "node:path";
import type { ProcessPlan } from "../protocol/plan.ts";

function executable(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

export function resolveProgram(p: ProcessPlan): string {
  const arg0 = p.args[0] ?? "";
  if (arg0.includes("/")) {
    if (!executable(posix.resolve(p.cwd, arg0)))
      throw new Error(`process.args[0]: ${arg0} is not an executable file in the container`);
    return arg0;
  }
  const pathVar = p.env.findLast((e) => e.startsWith("PATH="))?.slice(5) ?? "";
  for (const dir of pathVar.split(":")) {
    const candidate = posix.join(dir || ".", arg0);
    if (executable(posix.resolve(p.cwd, candidate))) return candidate;
  }
  throw new Error(`process.args[0]: executable file ${JSON.stringify(arg0)} not found in $PATH`);
}
