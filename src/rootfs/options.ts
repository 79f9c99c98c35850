// config.json mount options -> mount(2) flags, propagation and data, decided
// on the runtime side (the init only carries them out).
import { MS } from "../sys/constants.ts";

interface FlagOption {
  readonly set: boolean;
  readonly flag: number;
}

const FLAGS: Readonly<Record<string, FlagOption>> = {
  ro: { set: true, flag: MS.RDONLY },
  rw: { set: false, flag: MS.RDONLY },
  nosuid: { set: true, flag: MS.NOSUID },
  suid: { set: false, flag: MS.NOSUID },
  nodev: { set: true, flag: MS.NODEV },
  dev: { set: false, flag: MS.NODEV },
  noexec: { set: true, flag: MS.NOEXEC },
  exec: { set: false, flag: MS.NOEXEC },
  sync: { set: true, flag: MS.SYNCHRONOUS },
  async: { set: false, flag: MS.SYNCHRONOUS },
  dirsync: { set: true, flag: MS.DIRSYNC },
  mand: { set: true, flag: MS.MANDLOCK },
  nomand: { set: false, flag: MS.MANDLOCK },
  noatime: { set: true, flag: MS.NOATIME },
  atime: { set: false, flag: MS.NOATIME },
  nodiratime: { set: true, flag: MS.NODIRATIME },
  diratime: { set: false, flag: MS.NODIRATIME },
  relatime: { set: true, flag: MS.RELATIME },
  norelatime: { set: false, flag: MS.RELATIME },
  strictatime: { set: true, flag: MS.STRICTATIME },
  nostrictatime: { set: false, flag: MS.STRICTATIME },
  nosymfollow: { set: true, flag: MS.NOSYMFOLLOW },
  symfollow: { set: false, flag: MS.NOSYMFOLLOW },
};

export const PROPAGATION: Readonly<Record<string, number>> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

// Options of config.md that need the new mount API or id-mapping: refused
// by name rather than passed to the kernel as data.
const NOT_YET = new Set([
  "tmpcopyup",
  "idmap",
  "ridmap",
  "copy-symlink",
  "src-nofollow",
  "dest-nofollow",
  ...["ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "sync", "async", "dirsync"].map(
    (o) => `r${o}`,
  ),
  ...[
    "atime",
    "noatime",
    "diratime",
    "nodiratime",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
  ].map((o) => `r${o}`),
  "rsymfollow",
  "rnosymfollow",
]);

export interface ParsedOptions {
  readonly flags: number;
  /** Flags explicitly cleared, so that a bind remount does not keep them. */
  readonly cleared: number;
  readonly bind: boolean;
  readonly recursive: boolean;
  readonly propagation: readonly number[];
  readonly data: string;
}

export function parseOptions(options: readonly string[], where: string): ParsedOptions {
  let flags = 0;
  let cleared = 0;
  let bind = false;
  let recursive = false;
  const propagation: number[] = [];
  const data: string[] = [];
  for (const o of options) {
    const f = FLAGS[o];
    if (f) {
      if (f.set) {
        flags |= f.flag;
        cleared &= ~f.flag;
      } else {
        flags &= ~f.flag;
        cleared |= f.flag;
      }
      // relatime, noatime and strictatime exclude one another.
      if (f.set && f.flag & (MS.RELATIME | MS.NOATIME | MS.STRICTATIME)) {
        flags = (flags & ~(MS.RELATIME | MS.NOATIME | MS.STRICTATIME)) | f.flag;
      }
    } else if (o === "bind" || o === "rbind") {
      bind = true;
      recursive ||= o === "rbind";
    } else if (PROPAGATION[o] !== undefined) {
      propagation.push(PROPAGATION[o]);
    } else if (NOT_YET.has(o)) {
      throw new Error(`${where}: mount option "${o}" is not supported by bunc yet`);
    } else if (o !== "defaults" && o !== "remount" && o !== "") {
      data.push(o);
    }
  }
  return { flags, cleared, bind, recursive, propagation, data: data.join(",") };
}
