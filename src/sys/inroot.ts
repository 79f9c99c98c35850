// Paths inside the container's root are resolved by the kernel with the root
// as "/" (openat2 RESOLVE_IN_ROOT): a symlink in the image can never lead a
// mount, a device node or a file bunc writes out onto the host.
import { ERRNO, O, RESOLVE } from "./constants.ts";
import { check, SysError } from "./errors.ts";
import { sys } from "./lib.ts";
import { cstr } from "./mem.ts";

function parts(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}

function rawOpen(rootFd: number, rel: string, flags: number, mode = 0): number {
  return sys.bunc_openat2(
    rootFd,
    cstr(rel || "."),
    flags | O.CLOEXEC,
    mode,
    RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS,
  );
}

/** Opens path (absolute, as the container sees it) under rootFd: the fd, or -errno. */
export function tryOpenInRoot(rootFd: number, path: string, flags: number, mode = 0): number {
  return rawOpen(rootFd, parts(path).join("/"), flags, mode);
}

export function openInRoot(rootFd: number, path: string, flags: number, mode = 0): number {
  return check(tryOpenInRoot(rootFd, path, flags, mode), `open ${path} in the container root`);
}

/** Opens path under rootFd as an O_PATH fd, creating what is missing one component at a time. */
export function ensureInRoot(rootFd: number, path: string, kind: "dir" | "file"): number {
  const names = parts(path);
  for (let i = 1; i <= names.length; i++) {
    const last = i === names.length;
    const prefix = names.slice(0, i).join("/");
    let fd = rawOpen(rootFd, prefix, O.PATH);
    if (fd === -ERRNO.ENOENT) {
      const parent = check(
        rawOpen(rootFd, names.slice(0, i - 1).join("/"), O.PATH | O.DIRECTORY),
        `open parent of ${path}`,
      );
      const name = cstr(names[i - 1] ?? "");
      try {
        if (last && kind === "file") {
          const made = sys.bunc_openat2(
            parent,
            name,
            O.CREAT | O.EXCL | O.WRONLY | O.CLOEXEC,
            0o644,
            RESOLVE.BENEATH,
          );
          if (made >= 0) sys.bunc_close(made);
          else if (made !== -ERRNO.EEXIST) throw new SysError(-made, `create ${path} in the container root`);
        } else {
          const rc = sys.bunc_mkdirat(parent, name, 0o755);
          if (rc < 0 && rc !== -ERRNO.EEXIST)
            throw new SysError(-rc, `mkdir ${names.slice(0, i).join("/")} in the container root`);
        }
      } finally {
        sys.bunc_close(parent);
      }
      fd = rawOpen(rootFd, prefix, O.PATH);
    }
    check(fd, `open ${path} in the container root`);
    if (last) return fd;
    sys.bunc_close(fd);
  }
  return check(rawOpen(rootFd, "", O.PATH | O.DIRECTORY), "open the container root");
}

/** The magic-link path through which mount(2) reaches an fd's file. */
export const fdPath = (fd: number) => `/proc/self/fd/${fd}`;
