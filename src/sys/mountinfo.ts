// /proc/<pid>/mountinfo (proc(5)): one parser for every reader.

export interface MountEntry {
  /** Path inside the filesystem that the mount shows. */
  readonly root: string;
  readonly mountpoint: string;
  readonly fstype: string;
  readonly superOptions: readonly string[];
}

// Paths escape space, tab, newline and backslash as \ooo octal.
const unescapeOctal = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    // Optional fields end at a lone "-"; the filesystem's own fields follow.
    const [pre, post] = line.split(" - ");
    if (!pre || !post) continue;
    const fields = pre.split(" ");
    const [fstype = "", , superOptions = ""] = post.split(" ");
    out.push({
      root: unescapeOctal(fields[3] ?? "/"),
      mountpoint: unescapeOctal(fields[4] ?? ""),
      fstype,
      superOptions: superOptions.split(","),
    });
  }
  return out;
}

/** The mount point that holds path (the longest one that is a prefix of it). */
export function mountPointOf(entries: readonly MountEntry[], path: string): string {
  let best = "/";
  for (const { mountpoint: m } of entries) {
    const holds = path === m || path.startsWith(m === "/" ? "/" : `${m}/`);
    if (holds && m.length > best.length) best = m;
  }
  return best;
}
