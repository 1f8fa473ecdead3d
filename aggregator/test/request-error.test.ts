// The one definition of a failed request (aggregator/src/query/request-error.ts), and its
// PromQL form checked against it on every label combination by promtool.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isFailedRequest, promFailedRequests } from "../src/query/request-error.ts";

const CASES: [code: string, flags: string, failed: boolean][] = [
  ["200", "-", false],
  ["200", "", false],
  ["404", "-", false], // the application's own answer
  ["429", "-", false],
  ["500", "-", true],
  ["503", "UH", true],
  ["504", "UT", true],
  ["0", "-", true], // no response at all
  ["0", "DC", true],
  ["404", "NR", true], // no route: a flag on a non-5xx code
  ["429", "RL", true],
  ["200", "DI", false], // injected delay on a success
  ["200", "RFCF", false], // cache hit
  ["200", "DI,RFCF", false],
  ["200", "RFCF,DI", false],
  ["200", "DI,UF", true],
  ["503", "UF,URX", true],
];

test("isFailedRequest: 5xx, no response, or any flag but DI / RFCF", () => {
  for (const [code, flags, failed] of CASES) assert.equal(isFailedRequest(code, flags), failed, `${code} ${flags}`);
});

test("the PromQL form selects exactly the series isFailedRequest calls failed (promtool)", (t) => {
  const promtool = spawnSync("promtool", ["--version"]);
  if (promtool.error) return t.skip("promtool is not installed");
  const dir = mkdtempSync(join(tmpdir(), "meshlat-errdef-"));
  try {
    const series = CASES.map(([code, flags], i) => ({ series: `m{id="${i}", response_code="${code}", response_flags="${flags}"}`, values: "1x3" }));
    const expr = `sum by (id) (${promFailedRequests("", (s) => `m{${s}}`)})`;
    const expected = CASES.flatMap(([, , failed], i) => (failed ? [{ labels: `{id="${i}"}`, value: 1 }] : []));
    const test = { rule_files: [], evaluation_interval: "1m", tests: [{ interval: "1m", input_series: series, promql_expr_test: [{ expr, eval_time: "1m", exp_samples: expected }] }] };
    writeFileSync(join(dir, "t.yml"), JSON.stringify(test));
    const r = spawnSync("promtool", ["test", "rules", join(dir, "t.yml")], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
