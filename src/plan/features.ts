// The runtime-spec features document (features.md, features-linux.md):
// what this bunc accepts in config.json, exactly.
import { SUPPORTED_NAMESPACES } from "./namespaces.ts";
import { knownMountOptions } from "./mountOptions.ts";
import {
  CAPABILITIES,
  MPOL_FLAG,
  MPOL_MODE,
  namesOf,
  SECCOMP_ARCH,
  SECCOMP_FLAG,
  SECCOMP_OPS,
  SECCOMP_RET,
} from "../sys/constants.ts";
import { HOOK_STAGES } from "../oci/config.ts";
import { OCI_VERSION } from "../oci/version.ts";
import { rootless } from "../sys/rootless.ts";
import { target } from "../sys/target.ts";
import { Cgroup } from "../cgroups/cgroup.ts";
import { dirname } from "node:path";

/**
 * What running rootless leaves: the cgroup directories bunc could make for
 * a container (none unless one is delegated; then linux.resources is
 * refused), and no id-mapped mounts (they need the host's privileges).
 */
function rootlessAnnotations(): Record<string, string> {
  if (!rootless()) return { "bunc.rootless": "false" };
  // An id no container can have (ids do not start with "."), so no cgroup of one is in the way.
  const dirs = Cgroup.plan(".features", undefined).state.dirs.map((d) => dirname(d.dir));
  return {
    "bunc.rootless": "true",
    "bunc.rootless.cgroups": dirs.length ? dirs.join(",") : "none: linux.resources is refused",
  };
}

export function features(): Record<string, unknown> {
  const unprivileged = rootless();
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: OCI_VERSION,
    hooks: [...HOOK_STAGES],
    mountOptions: knownMountOptions(),
    linux: {
      namespaces: [...SUPPORTED_NAMESPACES],
      capabilities: Object.keys(CAPABILITIES),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: true },
      seccomp: {
        enabled: true,
        actions: namesOf(SECCOMP_RET),
        operators: [...SECCOMP_OPS],
        archs: namesOf(SECCOMP_ARCH),
        knownFlags: namesOf(SECCOMP_FLAG),
        supportedFlags: namesOf(SECCOMP_FLAG),
      },
      apparmor: { enabled: true },
      selinux: { enabled: true },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: !unprivileged } },
      netDevices: { enabled: false },
      memoryPolicy: { modes: namesOf(MPOL_MODE), flags: namesOf(MPOL_FLAG) },
    },
    annotations: { "bunc.target": target(), ...rootlessAnnotations() },
  };
}
