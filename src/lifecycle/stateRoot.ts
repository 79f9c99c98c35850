// Where container state lives when --root is not given: /run/bunc for the
// host's root; for anyone else (root of a user namespace too, as podman
// runs its runtime rootless) $XDG_RUNTIME_DIR/bunc, a directory only that
// user may use, made by the login; else /run/bunc for root, and for a user
// /tmp/bunc-<uid>, made private and checked to be the user's own, so that
// no other user can pre-make it for them.
import { lstatSync, mkdirSync } from "node:fs";
import { euid, inInitialUserns } from "../sys/rootless.ts";

export function defaultStateRoot(env = process.env): string {
  const uid = euid();
  if (uid === 0 && inInitialUserns()) return "/run/bunc";
  if (env.XDG_RUNTIME_DIR) return `${env.XDG_RUNTIME_DIR}/bunc`;
  if (uid === 0) return "/run/bunc";
  const dir = `/tmp/bunc-${uid}`;
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0)
    throw new Error(`${dir} is not a private directory of uid ${uid}: set XDG_RUNTIME_DIR or pass --root`);
  return dir;
}
