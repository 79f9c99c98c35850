// /etc/hosts, /etc/hostname and /etc/resolv.conf for a container on the
// bridge, written at createRuntime through the init's view of its root
// (/proc/PID/root + the rootfs path, so mounts the container has over /etc
// take them) and opened inside that root: a symlink in the image can never
// lead a write out onto the host.
import { readFileSync, writeSync } from "node:fs";
import { O } from "../../src/sys/constants.ts";
import { ensureInRoot, openInRoot } from "../../src/sys/inroot.ts";
import { sys } from "../../src/sys/lib.ts";
import { openPath } from "../../src/sys/open.ts";

export interface EtcFacts {
  readonly hostname: string;
  readonly ip: string;
  readonly ip6: string | null;
}

/** The host's resolver settings, without nameservers on its loopback (unreachable from the container). */
export function resolvConf(host = "/etc/resolv.conf"): string {
  let text = "";
  try {
    text = readFileSync(host, "utf8");
  } catch {
    return "";
  }
  const lines = text
    .split("\n")
    .filter((l) => /^\s*(nameserver|search|domain|options)\s/.test(l))
    .filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l));
  return lines.length ? `${lines.join("\n")}\n` : "";
}

export function hostsFile(f: EtcFacts): string {
  return [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    `${f.ip}\t${f.hostname}`,
    ...(f.ip6 ? [`${f.ip6}\t${f.hostname}`] : []),
    "",
  ].join("\n");
}

export function writeEtcFiles(pid: number, rootfs: string, id: string, f: EtcFacts): void {
  const root = openPath(
    `/proc/${pid}/root${rootfs}`,
    O.PATH | O.DIRECTORY,
    `network: open the root of container ${id}`,
  );
  try {
    sys.bunc_close(ensureInRoot(root, "/etc", "dir"));
    for (const [path, text] of [
      ["/etc/hosts", hostsFile(f)],
      ["/etc/hostname", `${f.hostname}\n`],
      ["/etc/resolv.conf", resolvConf()],
    ] as const) {
      let fd = -1;
      try {
        fd = openInRoot(root, path, O.WRONLY | O.CREAT | O.TRUNC, 0o644);
        writeSync(fd, text);
      } catch (e) {
        throw new Error(`network: write ${path} in container ${id}: ${(e as Error).message}`);
      } finally {
        if (fd >= 0) sys.bunc_close(fd);
      }
    }
  } finally {
    sys.bunc_close(root);
  }
}
