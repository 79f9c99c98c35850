// Each verb loads only its own imports.
const load = <T>(p: Promise<{ default: T }>) => p.then((m) => m.default);

export const commands = {
  create: () => load(import("./create.ts")),
  start: () => load(import("./start.ts")),
  run: () => load(import("./run.ts")),
  exec: () => load(import("./exec.ts")),
  state: () => load(import("./state.ts")),
  kill: () => load(import("./kill.ts")),
  delete: () => load(import("./delete.ts")),
  list: () => load(import("./list.ts")),
  pause: () => load(import("./pause.ts")),
  resume: () => load(import("./resume.ts")),
  update: () => load(import("./update.ts")),
  ps: () => load(import("./ps.ts")),
  events: () => load(import("./events.ts")),
  hook: () => load(import("./hook.ts")),
  hooks: () => load(import("./hooks.ts")),
  image: () => load(import("./image.ts")),
  completion: () => load(import("./completion.ts")),
  spec: () => load(import("./spec.ts")),
  features: () => load(import("./features.ts")),
};
