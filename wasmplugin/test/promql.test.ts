// Every PromQL expression in the alerts and the dashboard is accepted by the real promtool and
// selects only metrics the aggregator exports (the agreed names, cross-checked against
// aggregator/src) or the few external series named in alerts.ts EXTERNAL_METRICS.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { DEPLOY_DIR } from "../generate.ts";
import { EXTERNAL_METRICS } from "../src/alerts.ts";
import { seriesNames } from "./support/metric-contract.ts";
import { metricNames } from "./support/promql-names.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const RULES = join(DEPLOY_DIR, "monitoring", "meshlat.rules.yaml");
const work = mkdtempSync(join(tmpdir(), "meshlat-promql-"));
after(() => rmSync(work, { recursive: true, force: true }));

function promtoolCheck(file: string): { ok: boolean; out: string } {
  const r = spawnSync("promtool", ["check", "rules", file], { encoding: "utf8" });
  if (r.error) throw new Error(`promtool not runnable (install Debian's prometheus package, as .ci/run does): ${r.error.message}`);
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

/** Grafana variables replaced by values PromQL accepts, so promtool can parse the query. */
function dashboardExprs(): { title: string; expr: string }[] {
  const d = JSON.parse(readFileSync(join(DEPLOY_DIR, "grafana", "meshlat-dashboard.json"), "utf8"));
  return d.panels.flatMap((p: any) => p.targets.map((t: any) => ({
    title: `${p.title} ${t.refId}`,
    expr: String(t.expr).replace(/\$__rate_interval/g, "5m").replace(/\$\{?\w+\}?/g, ".*"),
  })));
}

function alertExprs(): { title: string; expr: string }[] {
  const groups = parse(readFileSync(RULES, "utf8")).groups as { rules: { alert: string; expr: string }[] }[];
  return groups.flatMap((g) => g.rules.map((r) => ({ title: r.alert, expr: r.expr })));
}

/** Metric-name patterns the aggregator source really registers (template parts become wildcards). */
function aggregatorPatterns(): RegExp[] {
  const dir = join(ROOT, "aggregator", "src");
  const files: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith(".ts")) files.push(p);
    }
  };
  walk(dir);
  const pats: RegExp[] = [];
  for (const f of files) {
    for (const m of readFileSync(f, "utf8").matchAll(/["'`](meshlat_(?:[a-z0-9_]|\$\{[^}]*\})*)["'`]/g)) {
      const re = m[1]!.split(/\$\{[^}]*\}/).map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[a-z0-9_]+");
      pats.push(new RegExp(`^${re}$`));
    }
  }
  return pats;
}

describe("alert rules", () => {
  it("promtool check rules accepts the rule file", () => {
    const r = promtoolCheck(RULES);
    assert.ok(r.ok, r.out);
    assert.match(r.out, /SUCCESS: \d+ rules found/);
  });
  it("the PrometheusRule carries the same groups as the rule file", () => {
    const pr = parse(readFileSync(join(DEPLOY_DIR, "monitoring", "prometheusrule.yaml"), "utf8"));
    assert.deepEqual(pr.spec, parse(readFileSync(RULES, "utf8")));
  });
  it("covers what SREs need", () => {
    const names = alertExprs().map((a) => a.title);
    for (const a of ["MeshlatRetryRateHigh", "MeshlatPlaintextTraffic", "MeshlatProxyLatencyOverBudget", "MeshlatNetworkBound",
      "MeshlatFilterDroppedBatches", "MeshlatFilterFoldingSeries", "MeshlatAggregatorRejectingBatches"]) assert.ok(names.includes(a), a);
  });
});

describe("dashboard queries", () => {
  it("promtool accepts every panel query (as recording rules)", () => {
    const exprs = dashboardExprs();
    assert.ok(exprs.length >= 10, `${exprs.length} queries`);
    const file = join(work, "dashboard.rules.yaml");
    writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules: exprs.map((e, i) => ({ record: `meshlat_dashboard:check${i}`, expr: e.expr })) }] }, { lineWidth: 0 }));
    const r = promtoolCheck(file);
    assert.ok(r.ok, r.out);
  });
});

describe("the PromQL checks can fail", () => {
  const cases: [string, string][] = [
    ["unbalanced parenthesis", "sum(rate(meshlat_requests_total[5m])"],
    ["unknown function", "rates(meshlat_requests_total[5m])"],
    ["range on an instant vector expression", "rate(sum(meshlat_requests_total)[5m])"],
  ];
  for (const [name, expr] of cases) {
    it(`promtool rejects: ${name}`, () => {
      const file = join(work, `bad-${name.replace(/\W+/g, "-")}.yaml`);
      writeFileSync(file, stringify({ groups: [{ name: "bad", rules: [{ alert: "Bad", expr }] }] }));
      assert.equal(promtoolCheck(file).ok, false);
    });
  }
  it("name extraction finds metrics behind functions, groupings and label_replace", () => {
    assert.deepEqual(
      metricNames(`topk by (a) (1, label_replace(sum by (le) (rate(x_bucket{a="b,c"}[5m])) / y, "v", "p", "", "")) or absent(up{job="j"}) > 1e3`),
      ["up", "x_bucket", "y"],
    );
  });
});

describe("metric names", () => {
  const contract = seriesNames();
  const all = [...alertExprs(), ...dashboardExprs()];
  it("every query selects only agreed or external metrics", () => {
    const unknown = all.flatMap((e) => metricNames(e.expr).filter((n) => !contract.has(n) && !(n in EXTERNAL_METRICS)).map((n) => `${e.title}: ${n}`));
    assert.deepEqual(unknown, []);
  });
  it("every meshlat metric used is registered in aggregator/src", () => {
    const pats = aggregatorPatterns();
    assert.ok(pats.length > 0, "no meshlat_ metric names found in aggregator/src");
    const families = new Set(all.flatMap((e) => metricNames(e.expr)).filter((n) => contract.has(n)).map((n) => contract.get(n)!));
    const missing = [...families].filter((f) => !pats.some((p) => p.test(f)));
    assert.deepEqual(missing, [], "families the aggregator does not register");
  });
});
