// The init path runs in every container: it must not load the CLI
// framework, the validation library or tar (design.md, issue targets).
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [
    ...text.matchAll(
      /(?:^|\n)\s*import\s+(?!type\b)[^"']*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g,
    ),
  ];
  return specs.map((m) => m[1] ?? m[2] ?? "");
}

function graph(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of importsOf(file)) {
      if (spec.startsWith(".")) todo.push(resolve(dirname(file), spec));
      else seen.add(spec);
    }
  }
  return seen;
}

test("the init imports only the init, protocol, rootfs and sys modules and builtins", () => {
  const modules = [...graph(`${SRC}/init/main.ts`)];
  const outside = modules.filter(
    (m) =>
      !m.startsWith("node:") &&
      !m.startsWith("bun:") &&
      !/\/src\/(init|protocol|rootfs|sys)\//.test(m) &&
      !m.endsWith(".so"),
  );
  expect(outside).toEqual([]);
  expect(modules.some((m) => m.endsWith("/src/sys/lib.ts"))).toBe(true);
});

test("the entry point reaches the init before any CLI code", () => {
  const main = readFileSync(`${SRC}/main.ts`, "utf8");
  expect(main.indexOf('import("./init/main.ts")')).toBeGreaterThan(0);
  expect(main.indexOf('import("./init/main.ts")')).toBeLessThan(main.indexOf('import("./cli/main.ts")'));
  // Only lazy imports of our own modules (a bundled plugin's process of its own among them).
  expect(
    importsOf(`${SRC}/main.ts`).filter((s) => !s.startsWith("./") && !s.startsWith("../hooks/")),
  ).toEqual([]);
});

// The direction of imports between folders (docs/design.md, Layout).
const ALLOWED: Record<string, readonly string[]> = {
  sys: [],
  oci: ["sys"],
  protocol: ["sys"],
  rootfs: ["protocol", "sys"],
  cgroups: ["oci", "sys"],
  init: ["protocol", "rootfs", "sys"],
  seccomp: ["oci", "sys"],
  plan: ["oci", "protocol", "cgroups", "seccomp", "sys", "diag.ts"],
  launch: ["plan", "protocol", "sys", "diag.ts"],
  hooks: ["oci", "protocol", "sys", "diag.ts"],
  lifecycle: ["plan", "launch", "protocol", "oci", "cgroups", "hooks", "sys", "diag.ts"],
  cli: ["lifecycle", "plan", "launch", "protocol", "oci", "cgroups", "seccomp", "hooks", "sys", "diag.ts"],
};

test("folders import only in the directions the design allows", () => {
  const wrong: string[] = [];
  for (const [folder, allowed] of Object.entries(ALLOWED)) {
    const files = [...new Bun.Glob(`${folder}/**/*.ts`).scanSync(SRC)];
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const text = readFileSync(`${SRC}/${file}`, "utf8");
      for (const m of text.matchAll(/(?:from|import\()\s*["'](\.[^"']+)["']/g)) {
        const resolved = resolve(dirname(`${SRC}/${file}`), m[1] ?? "");
        // The C object's build output is not a module of ours.
        if (!resolved.startsWith(`${SRC}/`)) continue;
        const target = resolved.slice(SRC.length + 1);
        const top = target.split("/")[0] ?? "";
        if (top !== folder && !allowed.includes(top)) wrong.push(`${file} imports ${target}`);
      }
    }
  }
  expect(wrong).toEqual([]);
});
