// The annotation bunc.rootfs.overlay: the root is an overlayfs stack that
// the init mounts on root.path inside the container's own mount (and user)
// namespace, instead of a bind of root.path. The unpack plugin asks for it
// for a rootless container, whose user may mount nothing on the host but
// may mount overlayfs in a user namespace of its own (with userxattr).
// Its value is JSON: {"lower": [top, ..., bottom], "upper": DIR, "work": DIR, "userxattr": true}.
import * as v from "valibot";
import type { Config } from "../oci/config.ts";
import { ConfigError } from "../oci/errors.ts";

export const ROOT_OVERLAY = "bunc.rootfs.overlay";

const Dir = v.pipe(
  v.string(),
  v.regex(/^\/[^,:]*$/, "must be an absolute path without ',' or ':' (overlayfs separators)"),
);
const RootOverlay = v.strictObject({
  lower: v.pipe(v.array(Dir), v.minLength(1)),
  upper: Dir,
  work: Dir,
  userxattr: v.optional(v.boolean()),
});

/** mount(2) takes one page of options and cuts off the rest. */
const MOUNT_DATA_MAX = 4095;

/** The overlayfs mount options the annotation asks for, or null without it. */
export function planRootOverlay(config: Config): string | null {
  const raw = config.annotations?.[ROOT_OVERLAY];
  if (raw === undefined) return null;
  const field = `annotations["${ROOT_OVERLAY}"]`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new ConfigError(field, `is not JSON: ${(e as Error).message}`);
  }
  const r = v.safeParse(RootOverlay, parsed);
  if (!r.success) {
    const issue = r.issues[0];
    const at = v.getDotPath(issue);
    throw new ConfigError(at ? `${field}.${at}` : field, issue.message);
  }
  const o = r.output;
  const data = `lowerdir=${o.lower.join(":")},upperdir=${o.upper},workdir=${o.work}${o.userxattr ? ",userxattr" : ""}`;
  if (data.length > MOUNT_DATA_MAX)
    throw new ConfigError(
      field,
      `names more layers than one overlayfs mount's options can hold (${o.lower.length})`,
    );
  return data;
}
