// docs/errors.md's filter section and the codes the filter really logs stay in step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";

const dir = new URL("../../filter/assembly/", import.meta.url);
const used = new Set<string>();
for (const f of readdirSync(dir)) {
  if (!f.endsWith(".ts")) continue;
  for (const m of readFileSync(new URL(f, dir), "utf8").matchAll(/FLT_ERR_[A-Z_]+/g)) used.add(m[0]);
}
const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
const section = doc.slice(doc.indexOf("<!-- filter-errors:begin -->"), doc.indexOf("<!-- filter-errors:end -->"));
const documented = new Set([...section.matchAll(/^### (FLT_ERR_[A-Z_]+)$/gm)].map((m) => m[1]!));

test("every FLT_ERR code the filter logs is documented, and only those", () => {
  assert.ok(used.size >= 10);
  assert.deepEqual([...documented].sort(), [...used].sort());
});
