// config.json mount options -> mount(2) flags, propagation and data, decided
// on the runtime side (the init only carries them out).
import { ConfigError } from "../oci/errors.ts";
import { MOUNT_ATTR, MS } from "../sys/constants.ts";

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
  iversion: { set: true, flag: MS.I_VERSION },
  noiversion: { set: false, flag: MS.I_VERSION },
  lazytime: { set: true, flag: MS.LAZYTIME },
  nolazytime: { set: false, flag: MS.LAZYTIME },
  silent: { set: true, flag: MS.SILENT },
  loud: { set: false, flag: MS.SILENT },
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

const A = MOUNT_ATTR;

// The recursive options of config.md: applied to the mount and every
// mount below it with mount_setattr(AT_RECURSIVE).
const RECURSIVE: Readonly<Record<string, { set: number; clr: number }>> = {
  rro: { set: A.RDONLY, clr: 0 },
  rrw: { set: 0, clr: A.RDONLY },
  rnosuid: { set: A.NOSUID, clr: 0 },
  rsuid: { set: 0, clr: A.NOSUID },
  rnodev: { set: A.NODEV, clr: 0 },
  rdev: { set: 0, clr: A.NODEV },
  rnoexec: { set: A.NOEXEC, clr: 0 },
  rexec: { set: 0, clr: A.NOEXEC },
  rnodiratime: { set: A.NODIRATIME, clr: 0 },
  rdiratime: { set: 0, clr: A.NODIRATIME },
  rnosymfollow: { set: A.NOSYMFOLLOW, clr: 0 },
  rsymfollow: { set: 0, clr: A.NOSYMFOLLOW },
  rnoatime: { set: A.NOATIME, clr: A.ATIME },
  rstrictatime: { set: A.STRICTATIME, clr: A.ATIME },
  rnorelatime: { set: A.STRICTATIME, clr: A.ATIME },
  rrelatime: { set: A.RELATIME, clr: A.ATIME },
  ratime: { set: A.RELATIME, clr: A.ATIME },
  rnostrictatime: { set: A.RELATIME, clr: A.ATIME },
};

// Options of config.md that are not implemented or not mount attributes:
// refused by name rather than passed to the kernel as data.
const NOT_YET = new Set(["copy-symlink", "src-nofollow", "dest-nofollow", "rsync", "rasync", "rdirsync"]);

/** Every option parseOptions takes (besides filesystem data such as mode=755): for `features`. */
export function knownMountOptions(): string[] {
  const words = [...Object.keys(FLAGS), ...Object.keys(RECURSIVE), ...Object.keys(PROPAGATION)];
  return [...words, "bind", "rbind", "tmpcopyup", "idmap", "ridmap", "defaults", "remount"].sort();
}

export interface ParsedOptions {
  readonly flags: number;
  /** Flags explicitly cleared, so that a bind remount does not keep them. */
  readonly cleared: number;
  readonly bind: boolean;
  readonly recursive: boolean;
  readonly propagation: readonly number[];
  /** MOUNT_ATTR_* to set and clear recursively (the r* options); both 0 when none. */
  readonly recursiveAttrs: { readonly set: number; readonly clr: number };
  /** tmpcopyup: a tmpfs starts with a copy of what the directory it covers held. */
  readonly copyUp: boolean;
  /** idmap (the mount) or ridmap (the mount and all below it): an id-mapped bind. */
  readonly idmap: "idmap" | "ridmap" | null;
  readonly data: string;
}

export function parseOptions(options: readonly string[], where: string): ParsedOptions {
  let flags = 0;
  let cleared = 0;
  let bind = false;
  let recursive = false;
  const propagation: number[] = [];
  const data: string[] = [];
  const recursiveAttrs = { set: 0, clr: 0 };
  let copyUp = false;
  let idmap: ParsedOptions["idmap"] = null;
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
    } else if (RECURSIVE[o]) {
      const r = RECURSIVE[o];
      recursiveAttrs.set = (recursiveAttrs.set & ~r.clr & ~r.set) | r.set;
      recursiveAttrs.clr = (recursiveAttrs.clr & ~r.set) | r.clr;
    } else if (o === "tmpcopyup") {
      copyUp = true;
    } else if (o === "idmap" || o === "ridmap") {
      idmap = o;
    } else if (NOT_YET.has(o)) {
      throw new ConfigError(where, `mount option "${o}" is not supported by bunc yet`);
    } else if (o !== "defaults" && o !== "remount" && o !== "") {
      data.push(o);
    }
  }
  return {
    flags,
    cleared,
    bind,
    recursive,
    propagation,
    recursiveAttrs,
    copyUp,
    idmap,
    data: data.join(","),
  };
}
