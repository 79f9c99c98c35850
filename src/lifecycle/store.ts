// The state root: one directory per container holding state.json and the
// exec fifo. Operations on one container are serialised by flock on its
// directory; state.json is replaced atomically.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as v from "valibot";
import { type StoredState, StoredState as StoredStateSchema } from "../oci/state.ts";
import { ERRNO, LOCK_EX, O } from "../sys/constants.ts";
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import { tryOpen } from "../sys/open.ts";

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
    readonly raw: unknown,
  ) {
    super(`state of container ${id} is damaged (${reason}); delete --force removes it`);
  }
}

/** Holds a container's lock until released (or the process exits). */
export class Lock {
  constructor(private fd: number) {}
  release(): void {
    if (this.fd >= 0) sys.bunc_close(this.fd);
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
    const fd = tryOpen(path, O.RDONLY | O.DIRECTORY);
    if (fd === -ERRNO.ENOENT) throw new ContainerNotFound(id);
    check(fd, `open ${path}`);
    check(sys.bunc_flock(fd, LOCK_EX), `lock ${path}`);
    return new Lock(fd);
  }

  /** Makes the container's directory, failing if the id is taken; returns it locked. */
  reserve(id: string): Lock {
    const dir = this.dir(id);
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST")
        throw new Error(`container with id ${id} already exists`);
      throw e;
    }
    try {
      return this.lockDir(id, dir);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  lock(id: string): Lock {
    return this.lockDir(id, this.dir(id));
  }

  read(id: string): StoredState {
    let text: string;
    try {
      text = readFileSync(`${this.dir(id)}/state.json`, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new ContainerNotFound(id);
      throw e;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new DamagedState(id, (e as Error).message, undefined);
    }
    const parsed = v.safeParse(StoredStateSchema, raw);
    if (!parsed.success) throw new DamagedState(id, parsed.issues[0].message, raw);
    return parsed.output;
  }

  write(state: StoredState): void {
    writeAtomic(`${this.dir(state.id)}/state.json`, JSON.stringify(state));
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  ids(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
  }
}
