// linux.seccomp -> the filter the init loads last, checked before anything
// is made: the kernel must take it, and it must let the init finish.
import { debug } from "../diag.ts";
import type { Config, Seccomp } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";
import { OCI_VERSION } from "../oci/version.ts";
import type { InitPlan, SeccompPlan } from "../protocol/plan.ts";
import { type Arch, runnableArches, syscallNumber } from "../seccomp/arch.ts";
import { encode } from "../seccomp/bpf.ts";
import { cachedFilter, cacheFilter, filterKey } from "../seccomp/cache.ts";
import { compileSeccomp } from "../seccomp/compile.ts";
import { run } from "../seccomp/interpret.ts";
import { SECCOMP_ARCH, SECCOMP_RET } from "../sys/constants.ts";
import { keepAlive } from "../sys/abi.ts";
import { sys } from "../sys/lib.ts";
import { ErrBuf } from "../sys/mem.ts";

// What the init's last act calls once the filter is in place. Loaded early
// (without no_new_privs), the filter also sees the change of credentials.
const AFTER_LOAD = ["execve"];
const AFTER_EARLY_LOAD = [
  "prctl",
  "setgroups",
  "setresgid",
  "setresuid",
  "capset",
  "umask",
  "rt_sigaction",
  "rt_sigprocmask",
  "fcntl",
  "close_range",
];
const AFTER_NOTIFY = ["sendmsg", "close"];

const allows = (ret: number) => ret === SECCOMP_RET.SCMP_ACT_ALLOW || ret === SECCOMP_RET.SCMP_ACT_LOG;

/** The syscalls the init needs that the filter refuses whatever their arguments. */
function refusedOfOurs(config: Config, program: Uint8Array, needed: string[]): string[] {
  const native = runnableArches()[0] as Arch;
  const withArgs = new Set(
    (config.linux?.seccomp?.syscalls ?? []).filter((s) => s.args?.length).flatMap((s) => s.names),
  );
  return needed.filter((name) => {
    const nr = syscallNumber(native, name);
    if (nr === undefined || withArgs.has(name)) return false;
    return !allows(run(program, { nr, arch: SECCOMP_ARCH[native].audit }).ret);
  });
}

interface Filter {
  readonly bytes: Buffer;
  readonly flags: number;
  readonly notify: boolean;
}

/** The kernel's own verdict on a filter, from a throwaway child. */
function tryLoad(f: Filter): void {
  const err = new ErrBuf();
  const rc = sys.bunc_seccomp_check(f.bytes, f.bytes.length / 8, f.flags, err.buf, err.len);
  keepAlive(f.bytes);
  if (rc < 0) throw new ConfigError("linux.seccomp", err.text());
}

/**
 * The compiled filter: from the cache when this profile was compiled (and
 * taken by this kernel) before; else compiled, tried and cached.
 */
function filterFor(s: Seccomp, cacheRoot: string | null): Filter {
  const key = cacheRoot === null ? null : filterKey(s, process.arch);
  const hit = cacheRoot === null || key === null ? null : cachedFilter(cacheRoot, key);
  if (hit) {
    debug("seccomp filter taken from the cache");
    return { bytes: Buffer.from(hit.program, "base64"), flags: hit.flags, notify: hit.notify };
  }
  const t0 = performance.now();
  const compiled = compileSeccomp(s);
  const filter = { bytes: encode(compiled.program), flags: compiled.flags, notify: compiled.notify };
  const ms = (performance.now() - t0).toFixed(2);
  debug(`seccomp filter compiled: ${compiled.program.length} instructions in ${ms} ms`);
  tryLoad(filter);
  if (cacheRoot !== null && key !== null) {
    cacheFilter(cacheRoot, key, {
      program: filter.bytes.toString("base64"),
      flags: filter.flags,
      notify: filter.notify,
    });
  }
  return filter;
}

export function planSeccomp(
  config: Config,
  id: string,
  bundle: string,
  cacheRoot: string | null,
): SeccompPlan | null {
  const s = config.linux?.seccomp;
  if (!s) return null;
  const filter = filterFor(s, cacheRoot);
  const early = !(config.process.noNewPrivileges ?? false);
  const needed = [...AFTER_LOAD, ...(early ? AFTER_EARLY_LOAD : []), ...(filter.notify ? AFTER_NOTIFY : [])];
  const refused = refusedOfOurs(config, filter.bytes, needed);
  if (refused.length) {
    throw new ConfigError(
      "linux.seccomp",
      `the profile does not allow ${refused.join(", ")}, which the container's start needs after the filter is loaded${early ? " (without noNewPrivileges the filter is loaded before the credentials change)" : ""}`,
    );
  }
  return {
    filter: filter.bytes.toString("base64"),
    flags: filter.flags,
    early,
    notify: filter.notify
      ? {
          listenerPath: s.listenerPath ?? "",
          state: {
            ociVersion: OCI_VERSION,
            fds: ["seccompFd"],
            pid: 0,
            ...(s.listenerMetadata === undefined ? {} : { metadata: s.listenerMetadata }),
            state: {
              ociVersion: OCI_VERSION,
              id,
              status: "created",
              pid: 0,
              bundle,
              annotations: config.annotations ?? {},
            },
          },
        }
      : null,
  };
}

/** The plan with the init's pid in the container process state, once the init exists. */
export function withInitPid(plan: InitPlan, pid: number): InitPlan {
  const notify = plan.process.seccomp?.notify;
  if (!notify) return plan;
  const state = { ...notify.state, pid, state: { ...notify.state.state, pid } };
  const seccomp = { ...(plan.process.seccomp as SeccompPlan), notify: { ...notify, state } };
  return { ...plan, process: { ...plan.process, seccomp } };
}
