// Versions bunc reports and accepts.
export const OCI_VERSION = "1.3.0";

// config.json files of runtime-spec 1.0 up to 1.3 (pre-releases included).
export function ociVersionSupported(v: string): boolean {
  const m = /^1\.(0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.exec(v);
  return m !== null && Number(m[1]) <= 3;
}
