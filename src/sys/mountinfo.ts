// /proc/<pid>/mountinfo escapes space, tab, newline and backslash in paths
// as \ooo octal (proc(5)).
export const unescapeMountinfo = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
