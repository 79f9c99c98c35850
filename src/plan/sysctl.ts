// linux.sysctl: only sysctls a namespace of the container isolates, so a
// container can never change a setting for the whole host.
import { statSync } from "node:fs";
import type { Config } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";

const IPC = new Set([
  "kernel.msgmax",
  "kernel.msgmnb",
  "kernel.msgmni",
  "kernel.sem",
  "kernel.shmall",
  "kernel.shmmax",
  "kernel.shmmni",
  "kernel.shm_rmid_forced",
]);
const UTS = new Set(["kernel.hostname", "kernel.domainname"]);

function namespaceOf(key: string): "ipc" | "network" | "uts" | null {
  if (IPC.has(key) || key.startsWith("fs.mqueue.")) return "ipc";
  if (key.startsWith("net.")) return "network";
  if (UTS.has(key)) return "uts";
  return null;
}

// A sysctl name component: letters, digits and the punctuation interface
// names use; never "", "." or "..", so the path stays where it claims to be.
const COMPONENT = /^(?!\.{1,2}$)[\w@:+.-]+$/;

const NS_FILE = { ipc: "ipc", network: "net", uts: "uts" } as const;

/** The namespace at path is the runtime's own, so the host's (runc's rule for joined ones). */
function isOurs(type: keyof typeof NS_FILE, path: string): boolean {
  const ours = statSync(`/proc/self/ns/${NS_FILE[type]}`);
  try {
    const theirs = statSync(path);
    return theirs.dev === ours.dev && theirs.ino === ours.ino;
  } catch {
    // A missing path fails where the namespaces are planned, with its own error.
    return false;
  }
}

/** [config key, path under /proc, value] for each sysctl. */
export function planSysctl(config: Config): [string, string, string][] {
  // Namespaces the container makes, or joins (an engine's pre-made network
  // namespace) unless the one joined is the host's own.
  const types = new Set(
    (config.linux?.namespaces ?? [])
      .filter((n) => !n.path || !(n.type in NS_FILE) || !isOurs(n.type as keyof typeof NS_FILE, n.path))
      .map((n) => n.type),
  );
  return Object.entries(config.linux?.sysctl ?? {}).map(([key, value]) => {
    const where = `linux.sysctl.${key}`;
    // Keys come dotted (net.ipv4.ip_forward) or as paths (net/ipv4/conf/eth0.1/forwarding).
    const parts = key.includes("/") ? key.split("/") : key.split(".");
    if (!parts.every((p) => COMPONENT.test(p))) throw new ConfigError(where, "is not a sysctl name");
    const ns = namespaceOf(parts.join("."));
    if (!ns)
      throw new ConfigError(
        where,
        "is not isolated by a namespace; bunc refuses to change it for the whole host",
      );
    if (!types.has(ns)) throw new ConfigError(where, `needs the container to have its own ${ns} namespace`);
    return [key, `sys/${parts.join("/")}`, value];
  });
}
