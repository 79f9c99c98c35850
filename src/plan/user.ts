// process.user.username: the uid, gid and groups the container's own
// /etc/passwd and /etc/group give that name, read inside the rootfs.
import { fstatSync, readFileSync } from "node:fs";
import { tryOpenInRoot } from "../sys/inroot.ts";
import { groupsOf, passwdEntries } from "../sys/passwd.ts";
import type { Config } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";
import { ERRNO, O } from "../sys/constants.ts";
import { sys } from "../sys/lib.ts";
import { tryOpen } from "../sys/open.ts";

const MAX_DB = 1 << 20;

/**
 * The image's passwd or group file, read as root: it must be a regular file
 * of sane size (a fifo would hang create, a device node read forever).
 * Errors name `field`; null when the file is not there.
 */
export function readDbInRoot(rootfs: string, path: string, field = "process.user.username"): string | null {
  const root = tryOpen(rootfs, O.PATH | O.DIRECTORY);
  if (root < 0) return null;
  const fd = tryOpenInRoot(root, path, O.RDONLY | O.NONBLOCK | O.NOFOLLOW);
  sys.bunc_close(root);
  if (fd === -ERRNO.ENOENT) return null;
  try {
    if (fd < 0) throw new Error(`open ${path} in the container: ${sys.bunc_strerror(-fd)}`);
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_DB) {
      throw new Error(`${path} in the container is not a regular file of at most 1 MiB`);
    }
    return readFileSync(fd, "utf8");
  } catch (e) {
    throw new ConfigError(field, (e as Error).message);
  } finally {
    if (fd >= 0) sys.bunc_close(fd);
  }
}

/** The config with uid, gid and additional gids of process.user.username, if one is given. */
export function resolveUsername(config: Config, rootfs: string): Config {
  const user = config.process.user;
  const name = user.username;
  if (!name) return config;
  const entry = passwdEntries(readDbInRoot(rootfs, "/etc/passwd") ?? "").find((e) => e.name === name);
  if (!entry) {
    throw new ConfigError(
      "process.user.username",
      `no user ${JSON.stringify(name)} in the container's /etc/passwd`,
    );
  }
  const { uid, gid } = entry;
  if (uid > 0xfffffffe || gid > 0xfffffffe)
    throw new ConfigError(
      "process.user.username",
      `${name} has no valid uid and gid in the container's /etc/passwd`,
    );
  // uid and gid are required too: 0 stands for "from the name"; anything
  // else must agree with it.
  if ((user.uid !== 0 && user.uid !== uid) || (user.gid !== 0 && user.gid !== gid)) {
    throw new ConfigError(
      "process.user.username",
      `${name} is uid ${uid} gid ${gid} in the container, which disagrees with process.user.uid/gid`,
    );
  }
  const groups = groupsOf(readDbInRoot(rootfs, "/etc/group") ?? "", name).filter((g) => g <= 0xfffffffe);
  const additionalGids = [...new Set([...(user.additionalGids ?? []), ...groups])];
  return {
    ...config,
    process: {
      ...config.process,
      user: { ...user, uid, gid, additionalGids },
    },
  };
}
