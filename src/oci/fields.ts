// The field types config.json and the runtime's own files share.
import * as v from "valibot";

// Every string may reach C, where a NUL byte would cut it short.
export const str = v.pipe(
  v.string(),
  v.check((s) => !s.includes("\0"), "must not contain a NUL byte"),
);
export const absPath = v.pipe(str, v.startsWith("/", "must be an absolute path"));
export const stringList = v.array(str);
