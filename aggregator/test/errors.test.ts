// Keeps docs/errors.md (aggregator section) and the AGG_ERR_* catalog in step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ERRORS } from "../src/errors.ts";

test("docs/errors.md lists exactly the aggregator's error codes, with their status", () => {
  const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
  const m = /<!-- aggregator-errors:begin -->([\s\S]*)<!-- aggregator-errors:end -->/.exec(doc);
  assert.ok(m, "aggregator section markers");
  const section = m[1]!;
  const documented = [...section.matchAll(/^### (AGG_ERR_\w+)/gm)].map((x) => x[1]!);
  assert.deepEqual([...documented].sort(), Object.keys(ERRORS).sort());
  for (const [code, spec] of Object.entries(ERRORS)) {
    const block = section.slice(section.indexOf(`### ${code}`)).split(/\n### /)[0]!;
    if (spec.statusCode) assert.match(block, new RegExp(`HTTP ${spec.statusCode}\\b`), code);
  }
});
