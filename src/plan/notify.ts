// Where the NOTIFY_SOCKET relay's directory appears in the container (runc's
// place): shared by the plan that mounts it and by start, which binds the
// socket there without loading the planner.
export const NOTIFY_DIR = "/run/notify";
