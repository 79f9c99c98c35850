import { OCI_VERSION } from "../oci/version.ts";
import { target } from "../sys/target.ts";

declare const BUNC_VERSION: string;
declare const BUNC_COMMIT: string;

export function versionText(): string {
  const version = typeof BUNC_VERSION === "string" ? BUNC_VERSION : "dev";
  const commit = typeof BUNC_COMMIT === "string" ? BUNC_COMMIT : "unknown";
  return `bunc version ${version}\ncommit: ${commit}\ntarget: ${target()}\nspec: ${OCI_VERSION}\nbun: ${Bun.version}\n`;
}
