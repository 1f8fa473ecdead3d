// docs/wire-format.md's worked example is the encoder's real output: re-run its inputs and
// compare byte for byte (and the decoded JSON shown beside it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { workedExample, decodeRaw, EXAMPLE_VM } from "./helpers.ts";

const doc = readFileSync(new URL("../../docs/wire-format.md", import.meta.url), "utf8");
const section = doc.slice(doc.indexOf("<!-- worked-example:begin -->"), doc.indexOf("<!-- worked-example:end -->"));

function fenced(lang: string): string {
  const m = section.match(new RegExp("```" + lang + "\\n([\\s\\S]*?)```"));
  assert.ok(m, `a ${lang} block in the worked example`);
  return m[1]!;
}

test("worked example bytes equal the encoder's output", async () => {
  const hex = fenced("hex").split("\n").filter(Boolean).map((l) => l.slice(6)).join(" ").split(/\s+/).filter(Boolean);
  const shown = Uint8Array.from(hex.map((x) => parseInt(x, 16)));
  const actual = await workedExample();
  assert.equal(Buffer.from(actual).toString("hex"), Buffer.from(shown).toString("hex"));
  assert.match(section, new RegExp(`\\(${actual.length} bytes\\)`));
});

test("worked example JSON equals the decoded bytes (bins as \"bin <hex>\")", async () => {
  const shown = JSON.parse(fenced("json"));
  const actual = decodeRaw(await workedExample());
  assert.equal(actual.vm, EXAMPLE_VM);
  const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
  const series = actual.series.map((r) => r.map((x) => (x instanceof Uint8Array ? `bin ${hex(x)}` : x)));
  assert.deepEqual(shown, { ...actual, series });
});
