// Structural checks on the Grafana dashboard (its queries are checked in promql.test.ts and
// exposition.test.ts): variables exist, panels do not overlap, one data source variable.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dashboard } from "../src/dashboard.ts";
import { grafanaDatasource } from "../src/grafana-datasource.ts";
import { defaults } from "../src/settings.ts";

const BUILTIN = new Set(["__rate_interval", "__interval", "__range"]);
type Panel = ReturnType<typeof dashboard>["panels"][number];

function problems(d: { templating: { list: { name: string }[] }; panels: Panel[] }): string[] {
  const out: string[] = [];
  const vars = new Set(d.templating.list.map((v) => v.name));
  const ids = new Set<number>();
  for (const p of d.panels) {
    if (ids.has(p.id)) out.push(`duplicate panel id ${p.id}`);
    ids.add(p.id);
    const { x, y, w, h } = p.gridPos;
    if (x < 0 || w <= 0 || h <= 0 || x + w > 24) out.push(`${p.title}: gridPos out of the 24-column grid`);
    for (const q of d.panels) {
      if (q === p || q.id < p.id) continue;
      const g = q.gridPos;
      if (x < g.x + g.w && g.x < x + w && y < g.y + g.h && g.y < y + h) out.push(`${p.title} overlaps ${q.title}`);
    }
    if (p.datasource.uid !== "${datasource}") out.push(`${p.title}: fixed data source`);
    for (const t of p.targets) {
      for (const m of t.expr.matchAll(/\$\{?(\w+)\}?/g)) if (!vars.has(m[1]!) && !BUILTIN.has(m[1]!)) out.push(`${p.title}: undefined variable $${m[1]}`);
    }
  }
  return out;
}

describe("dashboard", () => {
  it("is consistent", () => assert.deepEqual(problems(dashboard()), []));
  it("catches an undefined variable and overlapping panels", () => {
    const d = dashboard();
    d.panels[1]!.gridPos = { ...d.panels[0]!.gridPos };
    d.panels[2]!.targets[0]!.expr += ` + on() vector($nope)`;
    const p = problems(d).join("\n");
    assert.match(p, /overlaps/);
    assert.match(p, /undefined variable \$nope/);
  });
  it("covers latency split, verdict, tiers and dependency edges", () => {
    const titles = dashboard().panels.map((p) => p.title).join("\n");
    for (const t of [/latency split/i, /verdict/i, /by tier/i, /dependency edges/i]) assert.match(titles, t);
  });
  it("shows exemplars on the request p99 (the only histogram that carries them), linked by the data source", () => {
    const withEx = dashboard().panels.flatMap((p) => p.targets.filter((t) => t.exemplar).map((t) => [p.title, t.expr] as const));
    assert.equal(withEx.length, 1);
    assert.match(withEx[0]![0], /p99/);
    assert.match(withEx[0]![1], /meshlat_request_duration_milliseconds/);
    const dest = grafanaDatasource({ ...defaults, traceUrlTemplate: "http://zipkin:9411/zipkin/traces/{trace_id}" }).datasources[0]!.jsonData.exemplarTraceIdDestinations;
    assert.deepEqual(dest, [{ name: "trace_id", url: "http://zipkin:9411/zipkin/traces/${__value.raw}", urlDisplayLabel: "Open trace" }]);
    assert.deepEqual(grafanaDatasource({ ...defaults, traceUrlTemplate: "" }).datasources[0]!.jsonData.exemplarTraceIdDestinations, []);
  });
});
