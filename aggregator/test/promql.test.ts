// The PromQL the views send (query/promql.ts); its results are checked against a real
// Prometheus in test/e2e/replicas.test.ts and native-histograms.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { anyOf, matcher, windowIncrease } from "../src/query/promql.ts";

test("anyOf matches exactly the given instances (RE2 metacharacters escaped, as PromQL reads the string)", () => {
  const m = anyOf("instance", ["10.0.0.1:9464", "a+b(c)"]);
  assert.match(m, /^instance=~"/);
  // The PromQL string literal unescaped as Prometheus does (Go's strconv.Unquote = JSON here).
  const re = new RegExp(`^(?:${JSON.parse(m.slice("instance=~".length)) as string})$`);
  for (const yes of ["10.0.0.1:9464", "a+b(c)"]) assert.ok(re.test(yes), yes);
  for (const no of ["10x0x0x1:9464", "aab(c)", "10.0.0.1:94640"]) assert.ok(!re.test(no), no);
  assert.equal(anyOf("instance", ["x"], "!~"), 'instance!~"x"');
});

test("without a restarted instance no subquery runs; with one, only its series are summed step by step", () => {
  const sel = [matcher("destination_service", "a.b.svc.cluster.local")];
  const plain = windowIncrease("meshlat_requests_total", sel, 300, 15, []);
  assert.doesNotMatch(plain, /:15s\]/);
  assert.match(plain, /last_over_time\(meshlat_requests_total\{destination_service="a\.b\.svc\.cluster\.local"\}\[300s\]\)/);
  const restarted = windowIncrease("meshlat_requests_total", sel, 300, 15, ["10.0.0.1:9464"]);
  assert.match(restarted, /sum_over_time\(.*\[285s:15s\]\)\)$/);
  const steps = restarted.slice(restarted.indexOf("sum_over_time("));
  assert.doesNotMatch(steps, /instance!~/);
  assert.match(steps, /meshlat_requests_total\{destination_service="a\.b\.svc\.cluster\.local",instance=~"10\\\\\.0/);
  // The other instances: last minus base, no subquery.
  const others = restarted.slice(0, restarted.indexOf("sum_over_time("));
  assert.match(others, /last_over_time\(meshlat_requests_total\{[^}]*instance!~[^}]*\}\[300s\]\)/);
  assert.doesNotMatch(others, /:15s\]/);
});

test("a native histogram's float function is sampled by a subquery (no range selector of its own)", () => {
  const q = windowIncrease("meshlat_request_duration_milliseconds", [], 60, 1, [], "", (x) => `histogram_count(${x})`);
  assert.match(q, /last_over_time\(histogram_count\(meshlat_request_duration_milliseconds\)\[60s:1s\]\)/);
  assert.match(q, /last_over_time\(histogram_count\(meshlat_request_duration_milliseconds\)\[300s:1s\] offset 60s\)/);
});
