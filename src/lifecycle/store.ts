// The state root: one directory per container holding state.json and the
// exec fifo. Operations on one container are serialised by flock on its
// directory. A container's directory appears with its state.json already in
// it (made under a hidden name, then renamed into place), and state.json is
// replaced atomically: a directory without a readable state is damaged.
import { parseExactJson, stringifyExact } from "../oci/exactJson.ts";
import {
  closeSync,
  type Dirent,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { checked } from "../oci/checked.ts";
import type { ConfigError } from "../oci/errors.ts";
import { type StoredState, StoredState as StoredStateSchema } from "../oci/state.ts";
import { ERRNO, LOCK_EX, LOCK_NB, MNT_DETACH, O } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { cstr } from "../sys/mem.ts";
import { flock } from "../sys/libc.ts";
import { parseMountinfo } from "../sys/mountinfo.ts";
import { processStartTime } from "../sys/process.ts";

import { checkId } from "./id.ts";

export class ContainerNotFound extends Error {
  constructor(id: string) {
    super(`container ${id} does not exist`);
  }
}

export class DamagedState extends Error {
  constructor(
    id: string,
    reason: string,
    /** The parsed JSON, if it was JSON at all. */
    readonly raw: unknown,
    /** The file's text; null when there is no state.json. */
    readonly text: string | null,
  ) {
    super(`state of container ${id} is damaged (${reason}); delete --force removes what is left of it`);
  }
}

const RENAME_NOREPLACE = 1;
const UMOUNT_NOFOLLOW = 8;
// A directory being made: ".<id>.<pid>.tmp".
const MAKING = /^\.(.+)\.(\d+)\.tmp$/;

/** Holds a container's lock until released (or the process exits). */
export class Lock {
  constructor(
    private fd: number,
    /** A lock file of its own, removed on release (a claim). */
    private readonly file?: string,
  ) {}
  release(): void {
    if (this.fd < 0) return;
    // Unlinked while still locked: a claimer that opened it meanwhile sees it is gone.
    if (this.file) rmSync(this.file, { force: true });
    closeSync(this.fd);
    this.fd = -1;
  }
}

export function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  renameSync(tmp, path);
}

export class Store {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return `${this.root}/${checkId(id)}`;
  }

  fifo(id: string): string {
    return `${this.dir(id)}/exec.fifo`;
  }

  private lockDir(id: string, path: string): Lock {
    let fd: number;
    try {
      fd = openSync(path, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new ContainerNotFound(id);
      throw new Error(`open ${path}: ${(e as Error).message}`);
    }
    const rc = flock(fd, LOCK_EX);
    if (rc < 0) {
      closeSync(fd);
      check(rc, `lock ${path}`);
    }
    return new Lock(fd);
  }

  /**
   * Makes the container's directory with its first state (and the config it
   * was made from, which exec reads) in it, failing if
   * the id is taken; returns it locked. The directory is built under a
   * hidden name and renamed into place, so it never exists without a state.
   */
  reserve(first: StoredState, config?: string): Lock {
    const { id } = first;
    const dir = this.dir(id);
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    this.sweep();
    const tmp = `${this.root}/.${id}.${process.pid}.tmp`;
    mkdirSync(tmp, { mode: 0o711 });
    try {
      writeFileSync(`${tmp}/state.json`, stringifyExact(first), { mode: 0o600 });
      if (config !== undefined) writeFileSync(`${tmp}/config.json`, config, { mode: 0o600 });
      const lock = this.lockDir(id, tmp);
      const rc = sys.bunc_renameat2(-100, cstr(tmp), -100, cstr(dir), RENAME_NOREPLACE);
      if (rc < 0) {
        lock.release();
        if (rc === -ERRNO.EEXIST) throw new Error(`container with id ${id} already exists`);
        check(rc, `rename ${tmp} to ${dir}`);
      }
      return lock;
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  // Hidden directories of creates that died before renaming theirs.
  private sweep(): void {
    for (const name of readdirSync(this.root)) {
      const m = MAKING.exec(name);
      if (m && processStartTime(Number(m[2])) === null)
        rmSync(`${this.root}/${name}`, { recursive: true, force: true });
    }
  }

  /**
   * Holds an id for a create that runs precreate hooks before it can
   * reserve it: a second create of the same id fails at once, rather than
   * running the hooks over the first one's (whose poststop would then undo
   * what the first one made). `wait`: block until it is free (delete).
   */
  claim(id: string, wait = false): Lock {
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    const file = `${this.root}/.${checkId(id)}.claim`;
    for (;;) {
      const fd = openSync(file, O.RDONLY | O.CREAT | O.CLOEXEC, 0o600);
      if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
        closeSync(fd);
        throw new Error(`container with id ${id} already exists (another create of it is under way)`);
      }
      // A claim released meanwhile unlinked its file: ours must be the one there now.
      if (statSync(file, { throwIfNoEntry: false })?.ino === fstatSync(fd).ino) return new Lock(fd, file);
      closeSync(fd);
    }
  }

  exists(id: string): boolean {
    return existsSync(this.dir(id));
  }

  lock(id: string): Lock {
    return this.lockDir(id, this.dir(id));
  }

  read(id: string): StoredState {
    let text: string;
    try {
      text = readFileSync(`${this.dir(id)}/state.json`, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      if (!existsSync(this.dir(id))) throw new ContainerNotFound(id);
      throw new DamagedState(id, "no state.json", undefined, null);
    }
    let raw: unknown;
    try {
      raw = parseExactJson(text);
    } catch (e) {
      throw new DamagedState(id, (e as Error).message, undefined, text);
    }
    try {
      return checked(StoredStateSchema, raw);
    } catch (e) {
      const { path, message } = e as ConfigError;
      throw new DamagedState(id, path ? message : `state.json: ${message}`, raw, text);
    }
  }

  write(state: StoredState): void {
    writeAtomic(`${this.dir(state.id)}/state.json`, stringifyExact(state));
  }

  /**
   * Removes a container's directory. A directory in it (the stage where a
   * root of "/" is attached in the container's mount namespace) could hold
   * a mount that reached the host by propagation: such mounts are detached
   * first, so the recursive removal never walks into another filesystem.
   */
  remove(id: string): void {
    const dir = this.dir(id);
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    if (entries.some((e) => e.isDirectory())) {
      // mountinfo shows resolved paths: a --root through a symlink must match too.
      const real = realpathSync(dir);
      const below = parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8"))
        .map((m) => m.mountpoint)
        .filter((m) => m.startsWith(`${real}/`))
        .reverse();
      for (const m of below) check(sys.bunc_umount(cstr(m), MNT_DETACH | UMOUNT_NOFOLLOW), `unmount ${m}`);
    }
    rmSync(dir, { recursive: true, force: true });
  }

  ids(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith("."))
        .map((e) => e.name)
        .sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
  }
}
