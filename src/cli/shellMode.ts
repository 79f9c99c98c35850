// Whether a `run` command line is shell mode's (--rootfs or --image among
// its flags): decided before any of shell mode is loaded.
export function isShellMode(rest: readonly string[]): boolean {
  const end = rest.indexOf("--");
  const flags = end < 0 ? rest : rest.slice(0, end);
  return flags.some((a) => /^--(rootfs|image)(=|$)/.test(a));
}
