// The passwd(5) and group(5) formats: one parser for the host's files and
// for a container image's.

/** The records of a passwd or group file: colon-separated fields, comments and blank lines skipped. */
export const records = (text: string): string[][] =>
  text
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(":"));

const numeric = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : null);

export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export function passwdEntries(text: string): PasswdEntry[] {
  return records(text).flatMap(([name, , uid, gid]) => {
    const [u, g] = [numeric(uid), numeric(gid)];
    return name && u !== null && g !== null ? [{ name, uid: u, gid: g }] : [];
  });
}

/** The gids of the groups that list `user` as a member. */
export function groupsOf(text: string, user: string): number[] {
  return records(text).flatMap(([, , gid, members]) => {
    const g = numeric(gid);
    return g !== null && (members ?? "").split(",").includes(user) ? [g] : [];
  });
}
