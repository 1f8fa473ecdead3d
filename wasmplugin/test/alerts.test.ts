// The alerts mean what they say: each alert's real expression is evaluated by
// `promtool test rules` on synthetic series (two aggregator replicas where it matters),
// with a case where it must fire and one where it must stay silent.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { stringify } from "yaml";
import { alertRules } from "../src/alerts.ts";
import { defaults } from "../src/settings.ts";

const work = mkdtempSync(join(tmpdir(), "meshlat-alerts-"));
after(() => rmSync(work, { recursive: true, force: true }));

type Series = { series: string; values: string };
interface Case { name: string; alert: string; input: Series[]; expect: { labels: string; value: number }[] }

const perSec = (n: number) => `0+${n * 60}x40`; // a counter growing n/s, sampled every minute
const req = (labels: string, n: number): Series => ({ series: `meshlat_requests_total{${labels}}`, values: perSec(n) });
const hist = (name: string, labels: string, buckets: [string, number][], sumPerSec: number): Series[] => [
  ...buckets.map(([le, n]) => ({ series: `${name}_bucket{${labels},le="${le}"}`, values: perSec(n) })),
  { series: `${name}_count{${labels}}`, values: perSec(buckets.at(-1)![1]) },
  { series: `${name}_sum{${labels}}`, values: perSec(sumPerSec) },
];
const C = 'cluster_name="outbound|80||cart.shop.svc.cluster.local"';
const RS = 'reporter="source", destination_service="cart.shop.svc.cluster.local"';
const EDGE = `${RS}, source_workload="web", source_namespace="shop"`;

const cases: Case[] = [
  { name: "retries at 10% fire", alert: "MeshlatRetryRateHigh",
    input: [{ series: `envoy_cluster_upstream_rq_retry{${C}}`, values: perSec(0.2) }, { series: `envoy_cluster_upstream_rq_total{${C}}`, values: perSec(2) }],
    expect: [{ labels: `{${C}}`, value: 0.1 }] },
  { name: "retries at 2% stay silent", alert: "MeshlatRetryRateHigh",
    input: [{ series: `envoy_cluster_upstream_rq_retry{${C}}`, values: perSec(0.04) }, { series: `envoy_cluster_upstream_rq_total{${C}}`, values: perSec(2) }],
    expect: [] },
  { name: "URX among other flags counts, other flags do not", alert: "MeshlatRetriesExhausted",
    input: [req(`${RS}, response_flags="UF,URX"`, 0.5), req(`${RS}, response_flags="-"`, 9), req(`${RS}, response_flags="UF"`, 0.5)],
    expect: [{ labels: '{destination_service="cart.shop.svc.cluster.local"}', value: 0.05 }] },
  { name: "edge errors: 5xx, no response and failure flags count (any code), benign flags and 4xx do not", alert: "MeshlatEdgeErrorRateHigh",
    input: [
      req(`${EDGE}, response_code="500", response_flags="-"`, 0.2),
      req(`${EDGE}, response_code="0", response_flags="DC"`, 0.1),
      req(`${EDGE}, response_code="404", response_flags="NR"`, 0.1),
      req(`${EDGE}, response_code="200", response_flags="DI,RFCF"`, 1),
      req(`${EDGE}, response_code="404", response_flags="-"`, 1),
      req(`${EDGE}, response_code="200", response_flags="-"`, 1.6),
    ],
    expect: [{ labels: '{destination_service="cart.shop.svc.cluster.local", source_namespace="shop", source_workload="web"}', value: 0.1 }] },
  { name: "edge errors under the threshold, or only benign flags, stay silent", alert: "MeshlatEdgeErrorRateHigh",
    input: [
      req(`${EDGE}, response_code="503", response_flags="UH"`, 0.1),
      req(`${EDGE}, response_code="200", response_flags="DI"`, 5),
      req(`${EDGE}, response_code="200", response_flags="-"`, 4.9),
    ],
    expect: [] },
  { name: "plaintext on the server side fires, per edge", alert: "MeshlatPlaintextTraffic",
    input: [
      req('reporter="destination", connection_security_policy="none", destination_service="cart", source_workload="legacy", source_namespace="old"', 1),
      req('reporter="destination", connection_security_policy="mutual_tls", destination_service="cart", source_workload="web", source_namespace="shop"', 5),
    ],
    expect: [{ labels: '{destination_service="cart", source_workload="legacy", source_namespace="old"}', value: 1 }] },
  { name: "client-side unknown is not plaintext", alert: "MeshlatPlaintextTraffic",
    input: [req('reporter="source", connection_security_policy="unknown", destination_service="cart", source_workload="web", source_namespace="shop"', 5)],
    expect: [] },
  { name: "proxy p99 over budget, summed over two replicas", alert: "MeshlatProxyLatencyOverBudget",
    input: ["a", "b"].flatMap((i) => hist("meshlat_proxy_duration_milliseconds", `${RS}, instance="${i}"`, [["5", 0], ["10", 0], ["25", 1], ["+Inf", 1]], 20)),
    expect: [{ labels: '{destination_service="cart.shop.svc.cluster.local", reporter="source"}', value: 24.85 }] },
  { name: "proxy p99 within budget", alert: "MeshlatProxyLatencyOverBudget",
    input: hist("meshlat_proxy_duration_milliseconds", RS, [["5", 2], ["10", 2], ["25", 2], ["+Inf", 2]], 4),
    expect: [] },
  { name: "network 75% of the mean fires", alert: "MeshlatNetworkBound",
    input: [...hist("meshlat_network_duration_milliseconds", RS, [["+Inf", 1]], 75), ...hist("meshlat_request_duration_milliseconds", RS, [["+Inf", 1]], 100)],
    expect: [{ labels: '{destination_service="cart.shop.svc.cluster.local"}', value: 0.75 }] },
  { name: "network 25% of the mean stays silent", alert: "MeshlatNetworkBound",
    input: [...hist("meshlat_network_duration_milliseconds", RS, [["+Inf", 1]], 25), ...hist("meshlat_request_duration_milliseconds", RS, [["+Inf", 1]], 100)],
    expect: [] },
  { name: "filter drops seen by two replicas are not double counted", alert: "MeshlatFilterDroppedBatches",
    input: ["a", "b"].map((i) => ({ series: `meshlat_filter_dropped_batches_total{workload="cart", namespace="shop", instance="${i}"}`, values: "0x20 0+1x20" })),
    // 9 new drops in the 15 minutes before eval_time; a sum over replicas would say 18.
    expect: [{ labels: '{workload="cart", namespace="shop"}', value: 9 }] },
  { name: "ingest rejects by reason, shedding excluded", alert: "MeshlatAggregatorRejectingBatches",
    input: [
      { series: 'meshlat_aggregator_batch_errors_total{reason="version", instance="a"}', values: perSec(0.5) },
      { series: 'meshlat_aggregator_batch_errors_total{reason="version", instance="b"}', values: perSec(0.5) },
      { series: 'meshlat_aggregator_batch_errors_total{reason="shed", instance="a"}', values: perSec(3) },
    ],
    expect: [{ labels: '{reason="version"}', value: 1 }] },
  { name: "aggregator absent", alert: "MeshlatAggregatorDown",
    input: [{ series: 'up{job="other"}', values: "1x40" }],
    expect: [{ labels: `{job="${defaults.aggregatorName}"}`, value: 1 }] },
];

function run(c: Case): { ok: boolean; out: string } {
  const rule = alertRules(defaults).find((r) => r.alert === c.alert);
  assert.ok(rule, `alert ${c.alert} exists`);
  const file = join(work, `${c.name.replace(/\W+/g, "-")}.yaml`);
  writeFileSync(file, stringify({
    evaluation_interval: "1m",
    tests: [{ interval: "1m", input_series: c.input, promql_expr_test: [{ expr: rule.expr, eval_time: "30m", exp_samples: c.expect }] }],
  }, { lineWidth: 0 }));
  const r = spawnSync("promtool", ["test", "rules", file], { encoding: "utf8" });
  if (r.error) throw new Error(`promtool not runnable (Debian package prometheus): ${r.error.message}`);
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

describe("alert expressions on synthetic series (promtool test rules)", () => {
  for (const c of cases) it(`${c.alert}: ${c.name}`, () => { const r = run(c); assert.ok(r.ok, r.out); });
  it("a wrong expectation fails (the harness can fail)", () => {
    const r = run({ ...cases[0]!, expect: [] });
    assert.equal(r.ok, false);
  });
});
