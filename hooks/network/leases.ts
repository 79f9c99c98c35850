// Container addresses from a lease store under the runtime's state root:
// one JSON file per bridge, read and replaced only under an exclusive flock
// of the bridge's lock file, so parallel creates never share an address. A
// lease is the container's id; one whose container no longer exists (its
// state directory is gone, after a crash say) is taken back.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { LOCK_EX } from "../../src/sys/constants.ts";
import { check } from "../../src/sys/errors.ts";
import { flock } from "../../src/sys/libc.ts";
import { blockSize, type Cidr, formatAddress, formatCidr } from "./ip.ts";

interface LeaseFile {
  subnet: string;
  /** Host part (offset in the subnet) -> container id. */
  leases: Record<string, string>;
}

export interface LeaseStore {
  /** The plugin's directory under the state root. */
  readonly dir: string;
  /** Whether a container of that id still exists. */
  readonly exists: (id: string) => boolean;
}

function locked<T>(store: LeaseStore, bridge: string, fn: (file: string) => T): T {
  mkdirSync(store.dir, { recursive: true, mode: 0o700 });
  const lock = `${store.dir}/${bridge}.lock`;
  const fd = openSync(lock, "a", 0o600);
  try {
    check(flock(fd, LOCK_EX), `network: lock ${lock}`);
    return fn(`${store.dir}/${bridge}.leases.json`);
  } finally {
    closeSync(fd);
  }
}

function read(file: string, bridge: string): LeaseFile | null {
  if (!existsSync(file)) return null;
  const damaged = (why: string) =>
    new Error(
      `network: the lease file ${file} is damaged (${why}): remove it once no container is on ` +
        `bridge ${bridge} (addresses are then leased afresh), or repair it`,
    );
  let data: Partial<LeaseFile> | null;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw damaged((e as Error).message);
  }
  if (typeof data?.subnet !== "string" || typeof data.leases !== "object" || data.leases === null)
    throw damaged("it has no subnet and leases");
  return data as LeaseFile;
}

function write(file: string, data: LeaseFile): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(data), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/**
 * Leases the container an address of subnet on bridge: `wanted` (a static
 * one) or the lowest free; returns its host part. The first address is the
 * bridge's, the last the broadcast.
 */
export function lease(
  store: LeaseStore,
  bridge: string,
  subnet: Cidr,
  id: string,
  wanted: bigint | null,
): bigint {
  return locked(store, bridge, (file) => {
    const data = read(file, bridge) ?? { subnet: formatCidr(subnet), leases: {} };
    for (const [offset, owner] of Object.entries(data.leases))
      if (owner !== id && !store.exists(owner)) delete data.leases[offset];
    if (data.subnet !== formatCidr(subnet)) {
      const users = Object.values(data.leases).filter((owner) => owner !== id);
      if (users.length)
        throw new Error(
          `network: bridge ${bridge} serves ${data.subnet} (container ${users[0]}), not ${formatCidr(subnet)}`,
        );
      data.subnet = formatCidr(subnet);
      data.leases = {};
    }
    for (const [offset, owner] of Object.entries(data.leases)) if (owner === id) delete data.leases[offset];
    let offset: bigint;
    if (wanted !== null) {
      offset = wanted - subnet.base;
      const owner = data.leases[String(offset)];
      if (owner !== undefined)
        throw new Error(
          `network: address ${formatAddress(4, wanted)} is already leased to container ${owner}`,
        );
    } else {
      const last = blockSize(subnet) - 2n;
      for (offset = 2n; offset <= last && data.leases[String(offset)] !== undefined; offset++);
      if (offset > last)
        throw new Error(`network: no free address left in ${data.subnet} on bridge ${bridge}`);
    }
    data.leases[String(offset)] = id;
    write(file, data);
    return offset;
  });
}

/** Gives the container's address back; nothing to do when it has none. */
export function release(store: LeaseStore, bridge: string, id: string): void {
  locked(store, bridge, (file) => {
    const data = read(file, bridge);
    if (!data) return;
    const before = Object.keys(data.leases).length;
    for (const [offset, owner] of Object.entries(data.leases)) if (owner === id) delete data.leases[offset];
    if (Object.keys(data.leases).length !== before) write(file, data);
  });
}

/** Gives the container's addresses back on every bridge (its record, which names the bridge, is lost). */
export function releaseEverywhere(store: LeaseStore, id: string): void {
  if (!existsSync(store.dir)) return;
  for (const name of readdirSync(store.dir)) {
    const bridge = /^(.+)\.leases\.json$/.exec(name)?.[1];
    if (bridge) release(store, bridge, id);
  }
}
