import { test } from "node:test";
import assert from "node:assert/strict";
import { check, limitFor, RATIO_TOLERANCE, SIZE_TOLERANCE } from "./lib/guard.ts";
import { metric } from "./lib/results.ts";
import type { Metric, Results } from "./lib/results.ts";

function run(metrics: Record<string, Metric>, mode: "full" | "quick" = "full"): Results {
  return {
    version: 1,
    run: { startedAt: "", durationS: 0, mode, node: "", cpus: 2, cpuModel: "", loadavg1m: 0, gitCommit: "" },
    metrics,
    details: {},
  };
}

const calls = (v: number) => metric("count", v, "calls/req", "host calls", { target: { op: "<=", value: 8 } });
const size = (v: number) => metric("size", v, "bytes", "wasm size", { target: { op: "<=", value: 65536 } });
const ratio = (v: number) => metric("ratio", v, "x", "meshlat / noop", { target: { op: "<=", value: 1.3 } });
const speedup = (v: number) => metric("ratio", v, "x", "json / msgpack", { better: "higher" });
const info = (v: number) => metric("info", v, "ns", "absolute");

test("guard: table of baseline/current pairs", () => {
  const cases: { name: string; base: Record<string, Metric>; cur: Record<string, Metric>; mode?: "full" | "quick"; ok: boolean; status?: string }[] = [
    { name: "equal counts pass", base: { c: calls(7) }, cur: { c: calls(7) }, ok: true, status: "ok" },
    { name: "one more host call fails", base: { c: calls(6) }, cur: { c: calls(6.0001) }, ok: false, status: "regressed" },
    { name: "fewer host calls is an improvement", base: { c: calls(7) }, cur: { c: calls(6) }, ok: true, status: "improved" },
    { name: "count over its target is listed, not fatal, when the baseline has it too", base: { c: calls(9) }, cur: { c: calls(9) }, ok: true, status: "ok" },
    { name: "size within 2% passes", base: { s: size(30000) }, cur: { s: size(30000 * (1 + SIZE_TOLERANCE)) }, ok: true, status: "ok" },
    { name: "size beyond 2% fails", base: { s: size(30000) }, cur: { s: size(30700) }, ok: false, status: "regressed" },
    { name: "ratio within tolerance passes", base: { r: ratio(1.0) }, cur: { r: ratio(1 + RATIO_TOLERANCE - 0.01) }, ok: true, status: "ok" },
    { name: "ratio better within tolerance is noise, not an improvement", base: { r: ratio(1.0) }, cur: { r: ratio(0.95) }, ok: true, status: "ok" },
    { name: "ratio better beyond tolerance is an improvement", base: { r: ratio(1.0) }, cur: { r: ratio(0.8) }, ok: true, status: "improved" },
    { name: "ratio beyond tolerance fails", base: { r: ratio(1.0) }, cur: { r: ratio(1.2) }, ok: false, status: "regressed" },
    { name: "ratio over its timing target alone does not fail", base: { r: ratio(1.4) }, cur: { r: ratio(1.4) }, ok: true, status: "ok" },
    { name: "higher-is-better ratio that drops fails", base: { x: speedup(3) }, cur: { x: speedup(2) }, ok: false, status: "regressed" },
    { name: "absolute timings are not guarded", base: { t: info(100) }, cur: { t: info(1000) }, ok: true, status: "unguarded" },
    { name: "metric missing from a full run fails", base: { c: calls(7) }, cur: {}, ok: false, status: "missing" },
    { name: "metric missing from a quick run is expected", base: { r: ratio(1) }, cur: {}, mode: "quick", ok: true },
    { name: "new metric is reported, not fatal", base: {}, cur: { c: calls(7) }, ok: true, status: "new" },
  ];
  for (const c of cases) {
    const res = check(run(c.base), run(c.cur, c.mode));
    assert.equal(res.ok, c.ok, c.name);
    if (c.status) assert.equal(res.findings[0]?.status, c.status, c.name);
  }
});

test("guard: a missed target is reported beside the comparison", () => {
  const res = check(run({ c: calls(9) }), run({ c: calls(9) }));
  assert.deepEqual(res.findings.map((f) => f.status), ["ok", "target-missed"]);
  assert.equal(res.ok, true);
});

test("guard: limits per kind", () => {
  assert.equal(limitFor(calls(7)), 7);
  assert.equal(limitFor(size(100)), 102);
  assert.equal(limitFor(ratio(2)), 2 * (1 + RATIO_TOLERANCE));
  assert.equal(limitFor(info(5)), undefined);
  assert.throws(() => metric("count", NaN, "", "x"), RangeError);
});

test("results table for the Performance section: rows with targets and verdicts, markers kept", async () => {
  const { resultsMarkdown, spliceResults } = await import("./lib/summary.ts");
  const res = run({ "filter.typical.host_calls_per_request": calls(9), "filter.wasm_bytes": size(59000) });
  const md = resultsMarkdown(res);
  assert.match(md, /\| host calls per typical request \| 9 calls\/req \| <= 8 \| \*\*FAIL\*\* \|/);
  assert.match(md, /\| optimized meshlat\.wasm \| 59000 bytes \| <= 65536 \| PASS \|/);
  const doc = "a\n<!-- bench-results:begin -->\nold\n<!-- bench-results:end -->\nb\n";
  assert.equal(spliceResults(doc, "new"), "a\n<!-- bench-results:begin -->\nnew\n<!-- bench-results:end -->\nb\n");
  assert.throws(() => spliceResults("no markers", "x"), /markers/);
});

test("report: an info measure's missed target reads informational, a guarded one's FAIL; the check is unchanged", async () => {
  const { formatTable, targetVerdict } = await import("./lib/report.ts");
  const { resultsMarkdown } = await import("./lib/summary.ts");
  const sdk = (v: number) => metric("info", v, "x", "meshlat / SDK no-op", { target: { op: "<=", value: 1.3 } });
  const ingest = (v: number) => metric("info", v, "points/CPU-s", "ingest", { better: "higher", target: { op: ">=", value: 500000 } });
  const cases: { name: string; m: Metric; want: string }[] = [
    { name: "info above a <= target", m: sdk(1.35), want: "info: above 1.3" },
    { name: "info below a >= target", m: ingest(307541), want: "info: below 500000" },
    { name: "info within its target passes", m: sdk(1.2), want: "PASS" },
    { name: "guarded ratio over its target fails", m: ratio(1.35), want: "FAIL" },
    { name: "count over its target fails", m: calls(9), want: "FAIL" },
    { name: "no target, no verdict", m: info(5), want: "" },
  ];
  for (const c of cases) assert.equal(targetVerdict(c.m), c.want, c.name);
  const res = run({ "filter.typical.ratio_vs_noop_sdk": sdk(1.35), "filter.typical.host_calls_per_request": calls(9) });
  const table = formatTable(res);
  assert.match(table, /filter\.typical\.ratio_vs_noop_sdk .*<= 1\.3 +info: above 1\.3/);
  assert.doesNotMatch(table.split("\n").find((l) => l.startsWith("filter.typical.ratio_vs_noop_sdk"))!, /FAIL/);
  assert.match(table, /filter\.typical\.host_calls_per_request .*<= 8 +FAIL/);
  const md = resultsMarkdown(res);
  assert.match(md, /\| typical request: meshlat \/ SDK no-op \(paired rounds\) \| 1\.35 x \| <= 1\.3 \| info: above 1\.3 \|/);
  // Guard semantics unchanged: the miss is listed, the check passes.
  const r = check(res, res);
  assert.equal(r.ok, true);
  assert.deepEqual(r.findings.filter((f) => f.status === "target-missed").map((f) => f.id).sort(), ["filter.typical.host_calls_per_request", "filter.typical.ratio_vs_noop_sdk"]);
});

test("guard: the committed baseline guards the inbound ratio and the typical mix against the filter before wire v2; an inbound request at 3x the no-op fails", async () => {
  const { readFileSync } = await import("node:fs");
  const { GUARDED_RATIOS } = await import("./filter.ts");
  const baseline = JSON.parse(readFileSync(new URL("./baseline.json", import.meta.url), "utf8")) as Results;
  for (const mix of GUARDED_RATIOS) assert.equal(baseline.metrics[`filter.${mix}.ratio_vs_noop_sdk`]?.kind, "ratio", mix);
  assert.equal(baseline.metrics["filter.typical.ratio_vs_v1"]?.kind, "ratio");
  const inbound = baseline.metrics["filter.inbound.ratio_vs_noop_sdk"]!;
  // What the host's per-read encoding of the downstream peer cost (measured 3.1–3.3).
  const slow = run({ ...baseline.metrics, "filter.inbound.ratio_vs_noop_sdk": { ...inbound, value: 3.1 } });
  const r = check(baseline, slow);
  assert.equal(r.ok, false);
  assert.equal(r.findings.find((f) => f.id === "filter.inbound.ratio_vs_noop_sdk")?.status, "regressed");
});
