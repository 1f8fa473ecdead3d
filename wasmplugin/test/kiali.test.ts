// The Kiali custom dashboard: the Kiali CR fragment validates against Kiali's CRD (manifests.test.ts)
// and its dashboard against the schema of Kiali's MonitoringDashboard Go types; every chart reads
// a series the shipped recording rules produce from metrics the aggregator exports; the rules
// and the queries Kiali builds from the charts pass promtool. test/e2e/queries.test.ts runs the
// same queries against a real Prometheus over the sample mesh.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import AjvModule from "ajv";
import { parse, stringify } from "yaml";
import { DEPLOY_DIR } from "../generate.ts";
import { loadCrdSchema, validateAgainstCrd } from "./support/crd-schema.ts";
import { kialiQueries, type KialiChart } from "./support/kiali-queries.ts";
import { seriesNames } from "./support/metric-contract.ts";

const KIALI_DIR = join(DEPLOY_DIR, "kiali");
const cr = parse(readFileSync(join(KIALI_DIR, "custom-dashboard.yaml"), "utf8"));
const rules = parse(readFileSync(join(KIALI_DIR, "meshlat.rules.yaml"), "utf8")).groups.flatMap((g: any) => g.rules) as { record: string; expr: string }[];
const work = mkdtempSync(join(tmpdir(), "meshlat-kiali-"));
after(() => rmSync(work, { recursive: true, force: true }));

const Ajv = ((AjvModule as any).default ?? AjvModule) as any;
const validateDashboard = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(new URL("../schemas/kiali-monitoringdashboard.json", import.meta.url), "utf8")));
const dashboardErrors = (d: unknown): string[] => (validateDashboard(d) ? [] : validateDashboard.errors.map((e: any) => `${e.instancePath} ${e.message}`));
const charts = (): KialiChart[] => cr.spec.custom_dashboards.flatMap((d: any) => d.items.map((i: any) => i.chart));

function promtool(file: string): { ok: boolean; out: string } {
  const r = spawnSync("promtool", ["check", "rules", file], { encoding: "utf8" });
  if (r.error) throw new Error(`promtool not runnable (install Debian's prometheus package, as .ci/run does): ${r.error.message}`);
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

describe("Kiali custom dashboard", () => {
  it("the Kiali CR fragment validates against Kiali's CRD, and a bad field is refused", () => {
    const crd = loadCrdSchema("kiali.v1alpha1.json");
    assert.deepEqual(validateAgainstCrd(crd, cr), []);
    assert.notDeepEqual(validateAgainstCrd(crd, { ...cr, spec: { ...cr.spec, custom_dashboard: [] } }), [], "a misspelt spec field");
  });

  it("each dashboard validates against Kiali's MonitoringDashboard types, and the schema refuses mistakes", () => {
    const [d] = cr.spec.custom_dashboards;
    assert.equal(cr.spec.custom_dashboards.length, 1);
    assert.deepEqual(dashboardErrors(d), []);
    assert.equal(d.name, "meshlat");
    const chart0 = d.items[0].chart;
    for (const bad of [
      { ...d, titel: "x" },
      { ...d, items: [{ chart: { ...chart0, dataType: "histogramm" } }] },
      { ...d, items: [{ chart: { ...chart0, spans: 13 } }] },
      { ...d, items: [{ chart: { ...chart0, metrics: [{ metric: "x" }] } }] },
    ]) assert.notDeepEqual(dashboardErrors(bad), [], JSON.stringify(bad).slice(0, 120));
  });

  it("shows the split (proxy, network, app) per tier and region, and is discovered by its own series", () => {
    const [d] = cr.spec.custom_dashboards;
    const split = charts()[0]!;
    assert.deepEqual(split.metrics.map((m) => m.displayName), ["proxy", "network", "app"]);
    for (const c of charts()) {
      const labels = (c as any).aggregations.map((a: any) => a.label);
      for (const l of ["user_tier", "region"]) assert.ok(labels.includes(l), `${c.name} groups by ${l}`);
    }
    assert.ok(rules.some((r) => r.record === d.discoverOn), "discoverOn names a recorded series");
  });

  it("every chart reads recorded series whose sources the aggregator exports", () => {
    const recorded = new Set(rules.map((r) => r.record));
    for (const c of charts()) {
      for (const m of c.metrics) {
        const needed = c.dataType === "histogram" ? ["_bucket", "_sum", "_count"].map((s) => m.metricName + s) : [m.metricName];
        for (const n of needed) assert.ok(recorded.has(n), `${c.name}: ${n} is recorded`);
      }
    }
    const exported = seriesNames();
    for (const r of rules) {
      const src = /^label_replace\(label_replace\((meshlat_\w+)\{reporter="source"\}/.exec(r.expr);
      assert.ok(src, r.expr);
      assert.ok(exported.has(src[1]!), `${src[1]} is a series the aggregator exports`);
      assert.match(r.expr, /"app", "\$1", "destination_service"/);
      assert.match(r.expr, /"namespace", "\$1", "destination_service"/);
    }
  });

  it("promtool accepts the recording rules and the queries Kiali builds from the charts; the PrometheusRule carries the same groups", () => {
    const file = join(KIALI_DIR, "meshlat.rules.yaml");
    const r = promtool(file);
    assert.ok(r.ok, r.out);
    assert.deepEqual(parse(readFileSync(join(KIALI_DIR, "prometheusrule.yaml"), "utf8")).spec, parse(readFileSync(file, "utf8")));
    const qs = kialiQueries(charts(), `{namespace="shop",app="payment"}`, "user_tier,region");
    assert.ok(qs.length >= 10);
    const qfile = join(work, "kiali-queries.yaml");
    writeFileSync(qfile, stringify({ groups: [{ name: "kiali", rules: qs.map((q, i) => ({ record: `meshlat_kiali_check:q${i}`, expr: q.expr })) }] }, { lineWidth: 0 }));
    const q = promtool(qfile);
    assert.ok(q.ok, q.out);
  });
});
