// linux.devices -> the nodes the init makes inside the root.
import { posix } from "node:path";
import type { Config } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";
import type { InitPlan } from "../protocol/plan.ts";
import { S_IFBLK, S_IFCHR, S_IFIFO } from "../sys/constants.ts";

const DEVICE_TYPE = { c: S_IFCHR, u: S_IFCHR, b: S_IFBLK, p: S_IFIFO } as const;

export function planDevices(config: Config): InitPlan["devices"] {
  return (config.linux?.devices ?? []).map((d, i) => {
    const field = `linux.devices[${i}]`;
    if (d.type !== "p" && (d.major === undefined || d.minor === undefined)) {
      throw new ConfigError(field, `a ${d.type} device needs major and minor`);
    }
    if (d.path.split("/").includes("..")) throw new ConfigError(`${field}.path`, "must not contain ..");
    return {
      field,
      path: posix.normalize(d.path),
      // fileMode may carry the type bits too (podman writes 0o20666): only the permissions count.
      mode: DEVICE_TYPE[d.type] | ((d.fileMode ?? 0o666) & 0o7777),
      major: d.major ?? 0,
      minor: d.minor ?? 0,
      uid: d.uid ?? 0,
      gid: d.gid ?? 0,
    };
  });
}
