// The hook stages that run in the container's namespaces: createContainer
// (before pivot_root, paths still resolved on the host) and startContainer
// (just before the final act). Each hook is a vfork-style child that runs
// only C up to its execve, with nothing of ours open.
import type { InitPlan } from "../protocol/plan.ts";
import { hookFailure, runHookProcess } from "../sys/hookProcess.ts";

export function runContainerHooks(
  plan: InitPlan,
  stage: "createContainer" | "startContainer",
  status: string,
  cwd: string,
): void {
  const hooks = plan.hooks[stage];
  if (hooks.length === 0) return;
  // The pid as the container sees it, as runc gives it to these stages.
  const input = JSON.stringify({ ...plan.hookState, status, pid: process.pid });
  for (const h of hooks) {
    let failure: string | null;
    try {
      failure = hookFailure(stage, h, runHookProcess(h, input, cwd));
    } catch (e) {
      failure = `${stage} hook ${h.path} could not be run: ${(e as Error).message}`;
    }
    if (failure) throw new Error(failure);
  }
}
