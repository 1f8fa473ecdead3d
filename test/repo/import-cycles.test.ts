// No import cycles anywhere in the project (TypeScript, the filter's AssemblyScript, the
// build scripts): a cycle makes module initialisation order matter and ties layers together.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findCycles, importGraph } from "./import-graph.ts";
import { repoFiles, ROOT } from "./files.ts";

test("the project's modules import each other without a cycle", () => {
  const graph = importGraph(ROOT, repoFiles());
  assert.ok(graph.size > 150, `only ${graph.size} modules read`);
  assert.ok(graph.get("filter/assembly/index.ts")!.length > 0, "the filter's extension-less imports are resolved");
  assert.deepEqual(findCycles(graph).map((c) => c.join(" → ")), []);
});

test("the cycle check sees value imports with and without extensions, and ignores type-only ones", () => {
  const dir = mkdtempSync(join(tmpdir(), "meshlat-cycles-"));
  const files: Record<string, string> = {
    "a.ts": `import { b } from "./b.ts";\nexport const a = b;\n`,
    "b.ts": `import { c } from "./sub/c";\nexport const b = c;\n`,
    "sub/c.ts": `export { a as c } from "../a.ts";\n`,
    "t1.ts": `import type { T2 } from "./t2.ts";\nexport type T1 = T2;\n`,
    "t2.ts": `import { type T1 } from "./t1.ts";\nexport type T2 = T1 | number;\n`,
    "self.ts": `import "./self.ts";\n`,
  };
  mkdirSync(join(dir, "sub"));
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  const cycles = findCycles(importGraph(dir, Object.keys(files)));
  rmSync(dir, { recursive: true });
  assert.deepEqual(cycles.map((c) => c.join(" → ")).sort(), ["a.ts → b.ts → sub/c.ts → a.ts", "self.ts → self.ts"]);
});
