// The state JSON a hook reads on stdin: the runtime-spec's fields, with the
// status and pid of the stage (the host pid for the runtime's stages, the
// container's own for the init's).
import type { HookStateBase } from "../protocol/plan.ts";

export const hookStateBase = (s: HookStateBase): HookStateBase => ({
  ociVersion: s.ociVersion,
  id: s.id,
  bundle: s.bundle,
  annotations: s.annotations,
});

export const hookState = (s: HookStateBase, status: string, pid: number) => ({
  ...hookStateBase(s),
  status,
  pid,
});
