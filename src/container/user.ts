// process.user.username: the uid, gid and groups the container's own
// /etc/passwd and /etc/group give that name, read inside the rootfs.
import { readFileSync } from "node:fs";
import type { Config } from "../spec/config.ts";
import { ConfigError } from "../spec/errors.ts";
import { O, RESOLVE } from "../sys/constants.ts";
import { sys } from "../sys/lib.ts";
import { cstr } from "../sys/mem.ts";

function readInRoot(rootfs: string, rel: string): string | null {
  const root = sys.bunc_openat2(-100, cstr(rootfs), O.PATH | O.DIRECTORY | O.CLOEXEC, 0, 0);
  if (root < 0) return null;
  try {
    const fd = sys.bunc_openat2(
      root,
      cstr(rel),
      O.RDONLY | O.CLOEXEC,
      0,
      RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS,
    );
    if (fd < 0) return null;
    try {
      return readFileSync(fd, "utf8");
    } finally {
      sys.bunc_close(fd);
    }
  } finally {
    sys.bunc_close(root);
  }
}

const fields = (text: string | null) =>
  (text ?? "")
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(":"));

/** The config with uid, gid and additional gids of process.user.username, if one is given. */
export function resolveUsername(config: Config, rootfs: string): Config {
  const user = config.process.user;
  const name = user.username;
  if (!name) return config;
  const entry = fields(readInRoot(rootfs, "etc/passwd")).find((f) => f[0] === name);
  if (!entry || !/^\d+$/.test(entry[2] ?? "") || !/^\d+$/.test(entry[3] ?? "")) {
    throw new ConfigError(
      "process.user.username",
      `no user ${JSON.stringify(name)} in the container's /etc/passwd`,
    );
  }
  const groups = fields(readInRoot(rootfs, "etc/group"))
    .filter((f) => (f[3] ?? "").split(",").includes(name) && /^\d+$/.test(f[2] ?? ""))
    .map((f) => Number(f[2]));
  const additionalGids = [...new Set([...(user.additionalGids ?? []), ...groups])];
  return {
    ...config,
    process: {
      ...config.process,
      user: { ...user, uid: Number(entry[2]), gid: Number(entry[3]), additionalGids },
    },
  };
}
