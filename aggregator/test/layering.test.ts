// The aggregator's layers import only downward: wire → store → query / metrics → routes → app →
// main, with the error catalog and the config at the bottom. A module that reaches up (e.g. the
// store into the exposition code) fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../src");

/** Layer of each source file or folder (relative to src/); a higher layer may import a lower one. */
const LAYERS: readonly (readonly string[])[] = [
  ["errors.ts"],
  ["config.ts", "wire"],
  ["ingest"],
  ["store"],
  ["query", "metrics"],
  ["routes"],
  ["app.ts"],
  ["main.ts"],
];

function unitOf(file: string): string {
  const rel = relative(SRC, file);
  return rel.includes("/") ? rel.split("/")[0]! : rel;
}
function layerOf(unit: string): number {
  const i = LAYERS.findIndex((l) => l.includes(unit));
  assert.ok(i >= 0, `${unit} has no layer: add it to LAYERS`);
  return i;
}
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : n.endsWith(".ts") ? [p] : [];
  });
}

test("aggregator modules import only their own unit or lower layers", () => {
  const upward: string[] = [];
  for (const file of sources(SRC)) {
    const from = unitOf(file);
    for (const m of readFileSync(file, "utf8").matchAll(/^import[^;]*?from "(\.[^"]+)";/gms)) {
      const to = unitOf(resolve(dirname(file), m[1]!));
      if (to === from) continue;
      if (layerOf(to) >= layerOf(from)) upward.push(`${relative(SRC, file)} imports ${m[1]}`);
    }
  }
  assert.deepEqual(upward, []);
});
