// The fleet simulator at a tiny size (bench/fleet.ts): a real Prometheus with native histograms
// stores what was sent, exactly, as native histograms, and the views from it are measured.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fleetTable, runFleet, viewTable } from "./fleet.ts";
import { engineCounters } from "./lib/view-cost.ts";

test("engineCounters: evaluated queries from inner_eval, prepare + evaluation seconds, process CPU", () => {
  const text = [
    "# TYPE prometheus_engine_query_duration_seconds summary",
    'prometheus_engine_query_duration_seconds{slice="inner_eval",quantile="0.5"} 0.001',
    'prometheus_engine_query_duration_seconds_sum{slice="inner_eval"} 1.5',
    'prometheus_engine_query_duration_seconds_count{slice="inner_eval"} 40',
    'prometheus_engine_query_duration_seconds_sum{slice="prepare_time"} 0.25',
    'prometheus_engine_query_duration_seconds_count{slice="prepare_time"} 40',
    'prometheus_engine_query_duration_seconds_sum{slice="queue_time"} 9',
    'prometheus_engine_query_duration_seconds_count{slice="queue_time"} 40',
    "process_cpu_seconds_total 12.34",
  ].join("\n");
  assert.deepEqual(engineCounters(text), { queries: 40, seconds: 1.75, cpuS: 12.34 });
});

test("fleet: 10 proxies, one replica, native histograms in Prometheus, counts exact, views measured", async () => {
  const res = await runFleet({ proxies: 10, workers: 1, replicas: 1, seconds: 2, balance: "ring", scrapeIntervalS: 1, log: () => {} });
  assert.ok(res.sentRequests > 0);
  assert.ok(res.countsExact, `Prometheus counted ${res.promRequests} of ${res.sentRequests}`);
  assert.equal(res.classicSeries, 0, "stored as native histograms, no _bucket series");
  const r = res.rows[0]!;
  // Per label set: the counter and five native histograms, plus the replica's own metrics.
  assert.ok(r.labelSets > 0 && r.series >= 6 * r.labelSets && r.series < 6 * r.labelSets + 100, `${r.series} series for ${r.labelSets} label sets`);
  assert.ok(r.scrapeGzipBytes > 0 && r.scrapeGzipBytes < r.scrapeBodyBytes, `gzip ${r.scrapeGzipBytes} of ${r.scrapeBodyBytes}`);
  assert.deepEqual(res.views.map((v) => v.view), ["latency 5m by user_tier (one service)", "graph 5m", "overview 5m by user_tier", "overview 1h by user_tier"]);
  for (const v of res.views) assert.ok(v.error === undefined && v.queries > 0 && v.bytes > 0, JSON.stringify(v));
  assert.ok(res.views[1]!.queries < res.views[2]!.queries, "the graph reads one timing, the overview all five");
  assert.match(fleetTable([res]), /\| P=10 W=1 R=1 ring \| r0 \|/);
  assert.match(viewTable([res]), /graph 5m/);
});
