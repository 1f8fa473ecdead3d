// The PromQL the views send (query/promql.ts); its results are checked against a real
// Prometheus in test/e2e/replicas.test.ts and native-histograms.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { NONE, anyOf, lives, matcher, windowIncrease } from "../src/query/promql.ts";
import { LABEL_NAMES } from "../src/wire/types.ts";

test("anyOf matches exactly the given instances (RE2 metacharacters escaped, as PromQL reads the string)", () => {
  const m = anyOf("instance", ["10.0.0.1:9464", "a+b(c)"]);
  assert.match(m, /^instance=~"/);
  // The PromQL string literal unescaped as Prometheus does (Go's strconv.Unquote = JSON here).
  const re = new RegExp(`^(?:${JSON.parse(m.slice("instance=~".length)) as string})$`);
  for (const yes of ["10.0.0.1:9464", "a+b(c)"]) assert.ok(re.test(yes), yes);
  for (const no of ["10x0x0x1:9464", "aab(c)", "10.0.0.1:94640"]) assert.ok(!re.test(no), no);
  assert.equal(anyOf("instance", ["x"], "!~"), 'instance!~"x"');
});

test("no special replica: last minus base, no subquery", () => {
  const q = windowIncrease("meshlat_requests_total", [matcher("destination_service", "a.b.svc.cluster.local")], 300, 15, 1_000_000, NONE);
  assert.doesNotMatch(q, /:15s\]/);
  assert.match(q, /last_over_time\(meshlat_requests_total\{destination_service="a\.b\.svc\.cluster\.local"\}\[300000ms\]\) - \(last_over_time\(meshlat_requests_total\{destination_service="a\.b\.svc\.cluster\.local"\}\[300000ms\] offset 300000ms\)/);
});

test("a restarted replica: one term per life, each over the time between its first scrapes", () => {
  const t = 1_000_000; // s
  const restartAt = t * 1000 - 100_000; // its new life's first scrape, 100 s ago
  const q = windowIncrease("meshlat_requests_total", [], 300, 15, t, { restarts: new Map([["10.0.0.1:9464", [restartAt]]]), drops: [] });
  // The others: without it.
  assert.match(q, /meshlat_requests_total\{instance!~"10\\\\\.0\\\\\.0\\\\\.1:9464"\}\[300000ms\]/);
  // Its first life: from the window's start to just before the restart, minus its value before the window.
  assert.ok(q.includes('last_over_time(meshlat_requests_total{instance="10.0.0.1:9464"}[199999ms] offset 100001ms) - (last_over_time(meshlat_requests_total{instance="10.0.0.1:9464"}[300000ms] offset 300000ms)'), q);
  // Its second life: counted from 0, kept apart from the first by a label until summed.
  assert.ok(q.includes('label_replace((last_over_time(meshlat_requests_total{instance="10.0.0.1:9464"}[100000ms])), "meshlat_life", "1", "", "")'), q);
  assert.doesNotMatch(q, /sum_over_time/);
});

test("a replica with a counter drop and no restart is summed step by step, alone", () => {
  const q = windowIncrease("meshlat_requests_total", [], 300, 15, 1_000_000, { restarts: new Map(), drops: ["10.0.0.2:9464"] });
  const steps = q.slice(q.indexOf("sum_over_time("));
  assert.match(steps, /\[285s:15s\]\)\)$/);
  assert.match(steps, /instance=~"10/);
  assert.match(q.slice(0, q.indexOf("sum_over_time(")), /instance!~"10/);
});

test("lives: a change of a replica's start time is a restart at that scrape; the oldest scrape in the window", () => {
  const from = 1_000_000_000;
  const l = lives([
    { metric: { instance: "a" }, values: [[999_990, "5"], [1_000_010, "5"], [1_000_020, "7"], [1_000_030, "7"]] },
    { metric: { instance: "b" }, values: [[1_000_005, "6"]] },
  ], from);
  assert.deepEqual([...l.restarts], [["a", [1_000_020_000]]]);
  assert.equal(l.firstScrapeMs, from, "a scrape before the window: the window is covered");
  assert.equal(lives([{ metric: { instance: "b" }, values: [[1_000_005, "6"]] }], from).firstScrapeMs, 1_000_005_000);
  assert.equal(lives([], from).firstScrapeMs, from);
});

test("a native histogram's float function: end − start as two instant lookups; a replica with a stale series by a subquery", () => {
  const name = "meshlat_request_duration_milliseconds";
  const plain = windowIncrease(name, [], 60, 1, 1_000_000, NONE, "", (x) => `histogram_count(${x})`);
  assert.equal(plain, `sum by (${LABEL_NAMES.join(",")}) ((histogram_count(${name}) - (histogram_count(${name} offset 60000ms) or histogram_count(${name}) * 0)))`);
  const q = windowIncrease(name, [], 60, 1, 1_000_000, { restarts: new Map(), drops: [], stale: ["10.0.0.3:9464"] }, "", (x) => `histogram_count(${x})`);
  assert.match(q, /histogram_count\(meshlat_request_duration_milliseconds\{instance!~"10\\\\.0\\\\.0\\\\.3:9464"\}\) - /);
  assert.match(q, /last_over_time\(histogram_count\(meshlat_request_duration_milliseconds\{instance=~"10\\\\.0\\\\.0\\\\.3:9464"\}\)\[60000ms:1s\]\)/);
  assert.match(q, /last_over_time\(histogram_count\(meshlat_request_duration_milliseconds\{instance=~"10\\\\.0\\\\.0\\\\.3:9464"\}\)\[300000ms:1s\] offset 60000ms\)/);
  // The float counter ignores `stale`: its last_over_time reads raw samples.
  assert.doesNotMatch(windowIncrease("meshlat_requests_total", [], 60, 1, 1_000_000, { restarts: new Map(), drops: [], stale: ["x"] }), /instance/);
});
