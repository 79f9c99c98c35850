// The state JSON a hook reads on stdin: the runtime-spec's fields, with the
// status and pid of the stage (the host pid for the runtime's stages, the
// container's own for the init's), and `created` for the runtime's stages,
// as crun adds fields of its own.
import type { HookStateBase } from "../protocol/plan.ts";

export const hookStateBase = (s: HookStateBase): HookStateBase => ({
  ociVersion: s.ociVersion,
  id: s.id,
  bundle: s.bundle,
  annotations: s.annotations,
});

/**
 * For a stage: its status and pid, and when bunc knows them the container's
 * creation time and (poststop after a foreground run) its exit status.
 */
export const hookState = (
  s: HookStateBase & { readonly created?: string },
  status: string,
  pid: number,
  exitStatus?: number,
) => ({
  ...hookStateBase(s),
  status,
  pid,
  ...(s.created ? { created: s.created } : {}),
  ...(exitStatus === undefined ? {} : { exitStatus }),
});
