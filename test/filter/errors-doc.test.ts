// docs/errors.md's filter section and the filter's error catalog (filter/assembly/errors.ts,
// imported as it is: it is written in the subset of TypeScript AssemblyScript also compiles)
// stay in step, and the catalog is the only place a code is spelled out.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import * as catalog from "../../filter/assembly/errors.ts";

const codes = Object.values(catalog) as string[];
const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
const section = doc.slice(doc.indexOf("<!-- filter-errors:begin -->"), doc.indexOf("<!-- filter-errors:end -->"));
const documented = [...section.matchAll(/^### (FLT_ERR_[A-Z_]+)$/gm)].map((m) => m[1]!);

test("every code of the filter's catalog is documented, and only those", () => {
  assert.ok(codes.length >= 10);
  assert.deepEqual([...documented].sort(), [...codes].sort());
});

test("catalog entries are named for their code, with no code twice", () => {
  for (const [name, code] of Object.entries(catalog)) assert.equal(code, `FLT_ERR_${name}`);
  assert.equal(new Set(codes).size, codes.length);
});

test("no filter source spells out a code: they all log through the catalog", () => {
  const dir = new URL("../../filter/assembly/", import.meta.url);
  for (const f of readdirSync(dir)) {
    if (!f.endsWith(".ts") || f === "errors.ts") continue;
    const src = readFileSync(new URL(f, dir), "utf8");
    assert.doesNotMatch(src, /FLT_ERR_/, `${f} spells out an FLT_ERR_ code; use errors.ts`);
  }
});
