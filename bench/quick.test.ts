// `npm run bench -- --quick` as a smoke test inside `npm test`: the deterministic counts of the
// hot path and the wire (never timings, which a busy CI machine cannot judge), checked against
// DESIGN.md's budgets and against the committed baseline.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { buildModules, loadBaseline, runAll } from "./run.ts";
import { readFileSync } from "node:fs";
import { check } from "./lib/guard.ts";
import { allocCounter, captureInstances } from "./lib/probe.ts";
import type { Results } from "./lib/results.ts";
import { HOST_CALL_TARGET, MEMORY_PER_SERIES_TARGET, WASM_SIZE_TARGET } from "./filter.ts";
import { WIRE_TARGET, WIRE_TARGET_2_WORKERS } from "./wire.ts";

describe("bench --quick", () => {
  let res: Results;
  before(async () => {
    // npm test has just built filter/build/meshlat.wasm; other tests are reading it now.
    buildModules({ filter: false });
    res = await runAll({ quick: true, only: [], log: () => {} });
  });

  const value = (id: string): number => {
    const m = res.metrics[id];
    assert.ok(m, `metric ${id} missing; subject errors: ${JSON.stringify(Object.values(res.details).map((d) => (d as { error?: string }).error).filter(Boolean))}`);
    return m.value;
  };

  test("every subject of the quick run completed", () => {
    for (const [name, d] of Object.entries(res.details)) assert.equal((d as { error?: string }).error, undefined, `${name} failed`);
  });

  const budgets: { name: string; id: string; max: number }[] = [
    { name: "typical request: at most 8 host calls", id: "filter.typical.host_calls_per_request", max: HOST_CALL_TARGET },
    { name: "typical request: no heap allocation after warm-up", id: "filter.typical.allocs_per_request", max: 0 },
    { name: "optimized .wasm at most 64 KiB", id: "filter.wasm_bytes", max: WASM_SIZE_TARGET },
    { name: `wire: at most ${WIRE_TARGET} bytes per request at 1000 req/s, 1 s flushes (typical mix)`, id: "wire.filter.typical.bytes_per_request", max: WIRE_TARGET },
    { name: `wire: at most ${WIRE_TARGET} bytes per request (realistic mix)`, id: "wire.filter.realistic.bytes_per_request", max: WIRE_TARGET },
    { name: `wire: at most ${WIRE_TARGET_2_WORKERS} bytes per request (realistic mix, 2 worker VMs)`, id: "wire.filter.realistic_2_workers.bytes_per_request", max: WIRE_TARGET_2_WORKERS },
    { name: "filter memory: at most 1 KiB per series", id: "filter.memory_per_series_bytes", max: MEMORY_PER_SERIES_TARGET },
  ];
  for (const b of budgets) test(b.name, () => assert.ok(value(b.id) <= b.max, `${b.id} = ${value(b.id)} > ${b.max}`));

  test("linear memory stops growing after warm-up, in every request mix", () => {
    const ids = Object.keys(res.metrics).filter((id) => id.endsWith(".memory_growth_bytes"));
    assert.ok(ids.length >= 5, `only ${ids.length} mixes measured`);
    for (const id of ids) assert.equal(value(id), 0, id);
  });

  test("the allocation probe sees allocations where there are some (SDK no-op allocates per stream)", () => {
    const d = (res.details.filter as Record<string, { allocs_noop_sdk?: { perRequest: number } }>).typical;
    assert.ok((d.allocs_noop_sdk?.perRequest ?? 0) > 0, "probe counted no allocation in the SDK no-op: the counter is broken");
  });

  test("allocation probe: refuses a module that is not a probe build, or a memory it did not see", async () => {
    const instantiate = (path: string) => {
      const module = new WebAssembly.Module(readFileSync(path));
      const imports: WebAssembly.Imports = {};
      for (const i of WebAssembly.Module.imports(module)) (imports[i.module] ??= {})[i.name] = () => 0;
      return new WebAssembly.Instance(module, imports);
    };
    const cases = [
      { name: "probe build", path: "bench/build/noop-sdk.probe.wasm", error: undefined },
      { name: "not a probe build", path: "bench/build/noop-raw.wasm", error: /not an allocation-probe build/ },
    ];
    for (const c of cases) {
      const { result: inst, instances } = await captureInstances(async () => instantiate(c.path));
      const memory = inst.exports.memory as WebAssembly.Memory;
      if (c.error) assert.throws(() => allocCounter(instances, memory), c.error, c.name);
      else assert.equal(typeof allocCounter(instances, memory).allocs(), "number", c.name);
      assert.throws(() => allocCounter([], memory), /no captured instance/, c.name);
    }
  });

  // The hot path's own counts must never creep up unnoticed; the .wasm size and the wire bytes
  // change with features and are guarded by `npm run bench -- --check` before a release (and
  // by their absolute budgets above).
  test("hot-path counts (host calls, allocations, memory growth) did not regress against bench/baseline.json", (t) => {
    const baseline = loadBaseline();
    if (!baseline) return t.skip("no bench/baseline.json (npm run bench -- --update-baseline)");
    const hotPath = /\.(host_calls_per_request|allocs_per_request|allocs_per_flush|memory_growth_bytes)$/;
    const bad = check(baseline, res).findings.filter((f) => f.status === "regressed" && hotPath.test(f.id));
    assert.deepEqual(bad.map((f) => f.message), []);
  });
});
