// Reading a bundle's config.json: a regular file of sane size, opened so
// that a FIFO or a device in its place can neither hang nor flood bunc.
import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import type { Config } from "../oci/config.ts";
import { parseConfig } from "../oci/validate.ts";

const MAX_CONFIG_BYTES = 64 << 20;

export function readConfig(bundle: string): Config {
  const path = `${bundle}/config.json`;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`${path} is not a regular file`);
    if (st.size > MAX_CONFIG_BYTES) throw new Error(`${path} is larger than ${MAX_CONFIG_BYTES >> 20} MiB`);
    return parseConfig(readFileSync(fd, "utf8"));
  } finally {
    closeSync(fd);
  }
}
