// Builds the C object from ffi/ and the one executable dist/bunc with the C
// object embedded. Bunfig and .env autoload are off: the binary runs as root
// from whatever directory an engine starts it in.
import { $ } from "bun";
import { mkdirSync } from "node:fs";
import pkg from "./package.json" with { type: "json" };

const root = import.meta.dir;
mkdirSync(`${root}/build`, { recursive: true });
const cflags = ["-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-fvisibility=default"];
await $`cc ${cflags} -o ${root}/build/libbunc.so ${root}/ffi/*.c`.quiet();

const commit = (await $`git -C ${root} rev-parse --short HEAD`.nothrow().quiet()).stdout.toString().trim();
const result = await Bun.build({
  entrypoints: [`${root}/src/main.ts`],
  target: "bun",
  format: "esm",
  bytecode: true,
  splitting: true,
  minify: true,
  define: {
    BUNC_VERSION: JSON.stringify(pkg.version),
    BUNC_COMMIT: JSON.stringify(commit || "unknown"),
  },
  compile: {
    outfile: `${root}/dist/bunc`,
    autoloadBunfig: false,
    autoloadDotenv: false,
    autoloadTsconfig: false,
    autoloadPackageJson: false,
  },
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.log(`built ${root}/dist/bunc`);
