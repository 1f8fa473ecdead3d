// Adding a label is one row in filter/assembly/labels.ts (docs/adding-a-label.md): this test
// makes exactly that change on a copy of the filter's sources, an 11th label read from the
// `request.protocol` property, compiles it with the project's compile options and checks that
// the new label reaches the wire and keeps series apart — the key hashing, comparison and copy
// all follow N_LABELS, so a value at position 10 can never be merged away in slack bytes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModule, type RequestSpec } from "../host/index.ts";
import { AGG_CLUSTER, LABELS, harness, oneBatch, type Batch, type Harness } from "./helpers.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NEW_ROW = `  "request_protocol",              "request\\0protocol",\n`;

/** labels.ts with one more row at the end of the LABELS table, and nothing else changed. */
function withExtraLabel(src: string): string {
  const start = src.indexOf("export const LABELS: StaticArray<string> = [");
  assert.ok(start >= 0, "labels.ts has the LABELS table");
  const end = src.indexOf("\n];", start);
  assert.ok(end > start, "LABELS table ends with ];");
  return src.slice(0, end + 1) + NEW_ROW + src.slice(end + 1);
}

let dir = "";
let variant: WebAssembly.Module;
let h: Harness;

before(async () => {
  mkdirSync(join(ROOT, ".tmp"), { recursive: true });
  dir = mkdtempSync(join(ROOT, ".tmp", "label-variant-"));
  const src = join(dir, "assembly");
  cpSync(join(ROOT, "filter/assembly"), src, { recursive: true });
  const labels = join(src, "labels.ts");
  writeFileSync(labels, withExtraLabel(readFileSync(labels, "utf8")));
  const out = join(dir, "meshlat-11.wasm");
  // Built like the shipped filter (filter/compile.mjs, optimized), from the repository root.
  const script = `import { compileModule } from "./filter/compile.mjs";
await compileModule(${JSON.stringify(join(src, "index.ts"))}, ${JSON.stringify(out)}, { optimize: true });`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8" });
  assert.equal(r.status, 0, `compiling the 11-label variant failed:\n${r.stderr}`);
  variant = await loadModule(readFileSync(out));
  h = await harness({ aggregator_cluster: AGG_CLUSTER, tiers: ["premium"] }, { module: variant });
});

after(() => {
  h?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function request(protocol: string, status = "200"): RequestSpec {
  return {
    info: { clusterName: "outbound|8080||payments.shop.svc.cluster.local", protocol },
    requestHeaders: [[":method", "GET"], [":path", "/"], [":authority", "payments.shop:8080"], ["x-user-tier", "premium"]],
    responseHeaders: [[":status", status]],
    upstreamMs: 2,
  };
}

function labelsOf(b: Batch, i: number): string[] {
  return b.series[i]![0].map((idx) => b.strings[idx]!);
}

test("the edit to labels.ts is one added row", () => {
  const src = readFileSync(join(ROOT, "filter/assembly/labels.ts"), "utf8");
  const changed = withExtraLabel(src);
  assert.equal(changed.length - src.length, NEW_ROW.length);
  assert.equal(changed.replace(NEW_ROW, ""), src);
});

test("an 11th label from the table is named on the wire and carried by every series", async () => {
  const b = await oneBatch(h, [request("HTTP/1.1")]);
  assert.deepEqual(b.labels, [...LABELS, "request_protocol"]);
  assert.equal(b.series.length, 1);
  const labels = labelsOf(b, 0);
  assert.equal(labels.length, 11);
  assert.equal(labels[10], "HTTP/1.1");
  // The ten existing labels resolve as in the shipped filter.
  assert.deepEqual(labels.slice(0, 10), [
    "source", "checkout", "shop", "payments.shop.svc.cluster.local", "200", "-", "unknown",
    "premium", "eu-west-1", "unknown",
  ]);
});

test("series that differ only in the 11th label stay distinct; equal ones merge", async () => {
  const b = await oneBatch(h, [request("HTTP/1.1"), request("HTTP/2"), request("HTTP/1.1"), request("HTTP/3"), request("HTTP/2")]);
  const counts = new Map(b.series.map((s, i) => [labelsOf(b, i)[10], s[1]]));
  assert.deepEqual(Object.fromEntries(counts), { "HTTP/1.1": 2, "HTTP/2": 2, "HTTP/3": 1 });
  for (let i = 0; i < b.series.length; i++) assert.deepEqual(labelsOf(b, i).slice(0, 10), labelsOf(b, 0).slice(0, 10));
  // And the 11th label combines with the others: another status is another series.
  const b2 = await oneBatch(h, [request("HTTP/2", "503"), request("HTTP/2", "200")]);
  assert.equal(b2.series.length, 2);
});

test("a label read from a property is `unknown` when the property is empty", async () => {
  const b = await oneBatch(h, [request("")]);
  assert.equal(labelsOf(b, 0)[10], "unknown");
});
