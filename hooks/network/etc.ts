// /etc/hosts, /etc/hostname and /etc/resolv.conf for a container on the
// bridge, written at createRuntime inside its root as the init sees it
// (/proc/PID/root + the rootfs path). The container's /proc and /sys are
// mounted there by then, its maskedPaths not yet applied, and the plugin
// writes as the host's root: a link in the image such as /etc/hostname ->
// /proc/sys/kernel/hostname, or a FIFO, must never be opened for writing.
// So each file is resolved inside the root without leaving its filesystem
// (RESOLVE_IN_ROOT | RESOLVE_NO_XDEV), pinned with O_PATH (which opens
// nothing), checked to be a regular file, and only then opened for writing
// through that fd.
import { fstatSync, readFileSync, type Stats, writeFileSync } from "node:fs";
import { ERRNO, O, RESOLVE } from "../../src/sys/constants.ts";
import { check } from "../../src/sys/errors.ts";
import { ensureInRoot, fdPath } from "../../src/sys/inroot.ts";
import { sys } from "../../src/sys/lib.ts";
import { cstr } from "../../src/sys/mem.ts";
import { openPath } from "../../src/sys/open.ts";

const EXDEV = 18;
const PROC_SUPER_MAGIC = 0x9fa0;
const SYSFS_MAGIC = 0x62656572;

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

/** path (absolute in the root) resolved inside it, never onto another filesystem: an fd, or -errno. */
const openIn = (root: number, path: string, flags: number, mode = 0) =>
  sys.bunc_openat2(
    root,
    cstr(path.slice(1)),
    flags | O.CLOEXEC,
    mode,
    RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS | RESOLVE.NO_XDEV,
  );

function kind(st: Stats): string {
  if (st.isFIFO()) return "a FIFO";
  if (st.isDirectory()) return "a directory";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  if (st.isSocket()) return "a socket";
  return "something else";
}

/** The file at path in the root, open for writing and emptied: a regular file of the root's own filesystem only. */
function openForWriting(root: number, path: string): number {
  let pin = openIn(root, path, O.PATH);
  if (pin === -ERRNO.ENOENT) {
    // Missing, or a link to a missing file: made where it leads, inside the root.
    const made = openIn(root, path, O.CREAT | O.WRONLY | O.NONBLOCK | O.NOCTTY, 0o644);
    if (made < 0) pin = made;
    else {
      sys.bunc_close(made);
      pin = openIn(root, path, O.PATH);
    }
  }
  if (pin === -EXDEV)
    throw new Error("it is on another filesystem than the container's root (a mount, or a link into one)");
  check(pin, "open it");
  try {
    const st = fstatSync(pin);
    if (!st.isFile()) throw new Error(`it is ${kind(st)}, not a regular file`);
    const magic = Number(sys.bunc_fs_magic(pin));
    if (magic === PROC_SUPER_MAGIC || magic === SYSFS_MAGIC) throw new Error("it is on procfs or sysfs");
    // What was checked is what is opened: the pinned inode, whatever its name leads to now.
    return openPath(fdPath(pin), O.WRONLY | O.TRUNC | O.NONBLOCK | O.NOCTTY, "open it for writing");
  } finally {
    sys.bunc_close(pin);
  }
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
        fd = openForWriting(root, path);
        writeFileSync(fd, text);
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
