// AppArmor and SELinux: the label the process gets at execve, and the
// SELinux context of mounts. Applied when the LSM is enabled on the host,
// refused by name when it is not.
import { existsSync, readFileSync } from "node:fs";
import type { Config } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";

function apparmorEnabled(): boolean {
  try {
    return readFileSync("/sys/module/apparmor/parameters/enabled", "utf8").trim() === "Y";
  } catch {
    return false;
  }
}

const selinuxEnabled = () => existsSync("/sys/fs/selinux/enforce");

/** The /proc files (relative to /proc) and values that label the next execve. */
export function planExecLabels(config: Config): { file: string; value: string; what: string }[] {
  const profile = config.process.apparmorProfile;
  const label = config.process.selinuxLabel;
  if (config.linux?.mountLabel && !selinuxEnabled()) {
    throw new ConfigError("linux.mountLabel", "SELinux is not enabled on this host");
  }
  const labels: { file: string; value: string; what: string }[] = [];
  if (profile) {
    if (!apparmorEnabled())
      throw new ConfigError("process.apparmorProfile", "AppArmor is not enabled on this host");
    const file = existsSync("/proc/self/attr/apparmor/exec")
      ? "thread-self/attr/apparmor/exec"
      : "thread-self/attr/exec";
    labels.push({ file, value: `exec ${profile}`, what: "process.apparmorProfile" });
  }
  if (label) {
    if (!selinuxEnabled())
      throw new ConfigError("process.selinuxLabel", "SELinux is not enabled on this host");
    labels.push({ file: "thread-self/attr/exec", value: label, what: "process.selinuxLabel" });
  }
  return labels;
}

/** Mount data with the SELinux context of linux.mountLabel, for filesystems that take one. */
export function withMountLabel(config: Config, fstype: string, data: string): string {
  const label = config.linux?.mountLabel;
  if (!label || ["proc", "sysfs", "cgroup", "cgroup2", "mqueue"].includes(fstype)) return data;
  const context = `context="${label}"`;
  return data ? `${data},${context}` : context;
}
