// pluginConfig validation: a table of valid configurations -> effective values (from the
// "meshlat configured" info line, which prints the frozen config), and a table of invalid ones
// -> rejected by the canary with one error line carrying the FLT_ERR_* code and the field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { harness, AGG_CLUSTER } from "./helpers.ts";

const DEFAULTS = {
  aggregator_cluster: AGG_CLUSTER,
  aggregator_authority: "meshlat-aggregator.istio-system.svc.cluster.local",
  aggregator_path: "/v1/batches",
  flush_interval_ms: 1000,
  tier_header: "x-user-tier",
  tiers: ["free", "standard", "premium", "enterprise"],
  region_default: "unknown",
  app_timing_metric: "app",
  max_series: 1024,
  max_buffered_batches: 16,
  exemplars_sampled_only: true,
};

const valid: { name: string; config: unknown; expect: Partial<typeof DEFAULTS>; warn?: string }[] = [
  { name: "only the required field", config: { aggregator_cluster: AGG_CLUSTER }, expect: {} },
  {
    name: "every field set",
    config: {
      aggregator_cluster: AGG_CLUSTER, aggregator_authority: "agg.example:9464", aggregator_path: "/ingest",
      flush_interval_ms: 60000, tier_header: "X-Plan", tiers: ["gold", "silver"], region_default: "dc1",
      app_timing_metric: "backend", max_series: 16, max_buffered_batches: 0, exemplars_sampled_only: false,
    },
    expect: {
      aggregator_authority: "agg.example:9464", aggregator_path: "/ingest", flush_interval_ms: 60000,
      tier_header: "x-plan", tiers: ["gold", "silver"], region_default: "dc1", app_timing_metric: "backend",
      max_series: 16, max_buffered_batches: 0, exemplars_sampled_only: false,
    },
  },
  { name: "range bounds low", config: { aggregator_cluster: AGG_CLUSTER, flush_interval_ms: 100, max_series: 16, max_buffered_batches: 0 }, expect: { flush_interval_ms: 100, max_series: 16, max_buffered_batches: 0 } },
  { name: "range bounds high", config: { aggregator_cluster: AGG_CLUSTER, flush_interval_ms: 60000, max_series: 65536, max_buffered_batches: 1024 }, expect: { flush_interval_ms: 60000, max_series: 65536, max_buffered_batches: 1024 } },
  { name: "integral doubles (protobuf Struct numbers)", config: '{"aggregator_cluster":"' + AGG_CLUSTER.replace(/\|/g, "|") + '","flush_interval_ms":5e3,"max_series":2048.0}', expect: { flush_interval_ms: 5000, max_series: 2048 } },
  { name: "non-Istio cluster name: authority is the name", config: { aggregator_cluster: "meshlat_aggregator" }, expect: { aggregator_cluster: "meshlat_aggregator", aggregator_authority: "meshlat_aggregator" } as never },
  { name: "cluster host:port: authority drops the port", config: { aggregator_cluster: "agg.local:9464" }, expect: { aggregator_authority: "agg.local" } as never },
  { name: "empty tier allow-list", config: { aggregator_cluster: AGG_CLUSTER, tiers: [] }, expect: { tiers: [] } },
  { name: "unknown field: warned and ignored", config: { aggregator_cluster: AGG_CLUSTER, colour: "blue" }, expect: {}, warn: "FLT_ERR_CONFIG_UNKNOWN_FIELD field=colour" },
  { name: "whitespace and escapes in JSON", config: ` { "aggregator_cluster" : "${AGG_CLUSTER}", "region_default": "eu\\u002dwest" }\n`, expect: { region_default: "eu-west" } },
];

for (const c of valid) {
  test(`config valid: ${c.name}`, async () => {
    const h = await harness(c.config as never);
    try {
      assert.equal(h.plugin.accepted, true);
      const vm = h.plugin.workers[0]!;
      const line = vm.logs.find((l) => l.message.startsWith("meshlat configured"));
      assert.ok(line, "configured line");
      assert.equal(line.level, "info");
      const eff = JSON.parse(line.message.slice(line.message.indexOf("config=") + 7));
      const cfg = typeof c.config === "string" ? JSON.parse(c.config) : (c.config as Record<string, unknown>);
      assert.deepEqual(eff, { ...DEFAULTS, aggregator_cluster: cfg.aggregator_cluster, ...c.expect });
      const warns = vm.logs.filter((l) => l.level === "warn");
      if (c.warn) {
        assert.equal(warns.length, 1);
        assert.ok(warns[0]!.message.startsWith(c.warn), warns[0]!.message);
      } else assert.deepEqual(warns, []);
    } finally {
      h.stop();
    }
  });
}

const invalid: { name: string; config: string; code: string; field: string }[] = [
  { name: "empty configuration (no aggregator_cluster)", config: "", code: "FLT_ERR_CONFIG_REQUIRED", field: "aggregator_cluster" },
  { name: "not JSON", config: "aggregator_cluster=x", code: "FLT_ERR_CONFIG_JSON", field: "(config)" },
  { name: "truncated JSON", config: '{"aggregator_cluster":"a"', code: "FLT_ERR_CONFIG_JSON", field: "(config)" },
  { name: "trailing garbage", config: '{"aggregator_cluster":"a"} x', code: "FLT_ERR_CONFIG_JSON", field: "(config)" },
  { name: "deep nesting", config: '{"x":' + "[".repeat(5000) + "]".repeat(5000) + "}", code: "FLT_ERR_CONFIG_JSON", field: "(config)" },
  { name: "bad escape", config: '{"aggregator_cluster":"a\\q"}', code: "FLT_ERR_CONFIG_JSON", field: "(config)" },
  { name: "raw control char", config: '{"aggregator_cluster":"a\u0001"}', code: "FLT_ERR_CONFIG_JSON", field: "(config)" },
  { name: "binary garbage", config: "\u0000\u00ff\u0080{[", code: "FLT_ERR_CONFIG_JSON", field: "(config)" },
  { name: "top-level array", config: "[]", code: "FLT_ERR_CONFIG_TYPE", field: "(config)" },
  { name: "cluster not a string", config: '{"aggregator_cluster":42}', code: "FLT_ERR_CONFIG_TYPE", field: "aggregator_cluster" },
  { name: "cluster empty", config: '{"aggregator_cluster":""}', code: "FLT_ERR_CONFIG_VALUE", field: "aggregator_cluster" },
  { name: "cluster null", config: '{"aggregator_cluster":null}', code: "FLT_ERR_CONFIG_TYPE", field: "aggregator_cluster" },
  { name: "path without slash", config: `{"aggregator_cluster":"a","aggregator_path":"v1"}`, code: "FLT_ERR_CONFIG_VALUE", field: "aggregator_path" },
  { name: "authority with space", config: `{"aggregator_cluster":"a","aggregator_authority":"a b"}`, code: "FLT_ERR_CONFIG_VALUE", field: "aggregator_authority" },
  { name: "flush interval too small", config: `{"aggregator_cluster":"a","flush_interval_ms":99}`, code: "FLT_ERR_CONFIG_RANGE", field: "flush_interval_ms" },
  { name: "flush interval too big", config: `{"aggregator_cluster":"a","flush_interval_ms":60001}`, code: "FLT_ERR_CONFIG_RANGE", field: "flush_interval_ms" },
  { name: "flush interval fraction", config: `{"aggregator_cluster":"a","flush_interval_ms":1000.5}`, code: "FLT_ERR_CONFIG_RANGE", field: "flush_interval_ms" },
  { name: "flush interval string", config: `{"aggregator_cluster":"a","flush_interval_ms":"1000"}`, code: "FLT_ERR_CONFIG_TYPE", field: "flush_interval_ms" },
  { name: "flush interval huge exponent", config: `{"aggregator_cluster":"a","flush_interval_ms":1e999}`, code: "FLT_ERR_CONFIG_RANGE", field: "flush_interval_ms" },
  { name: "max_series too small", config: `{"aggregator_cluster":"a","max_series":15}`, code: "FLT_ERR_CONFIG_RANGE", field: "max_series" },
  { name: "max_series too big", config: `{"aggregator_cluster":"a","max_series":65537}`, code: "FLT_ERR_CONFIG_RANGE", field: "max_series" },
  { name: "max_buffered_batches negative", config: `{"aggregator_cluster":"a","max_buffered_batches":-1}`, code: "FLT_ERR_CONFIG_RANGE", field: "max_buffered_batches" },
  { name: "max_buffered_batches too big", config: `{"aggregator_cluster":"a","max_buffered_batches":1025}`, code: "FLT_ERR_CONFIG_RANGE", field: "max_buffered_batches" },
  { name: "tiers not an array", config: `{"aggregator_cluster":"a","tiers":"free"}`, code: "FLT_ERR_CONFIG_TYPE", field: "tiers" },
  { name: "tier not a string", config: `{"aggregator_cluster":"a","tiers":["free",1]}`, code: "FLT_ERR_CONFIG_TYPE", field: "tiers[1]" },
  { name: "tier upper-case", config: `{"aggregator_cluster":"a","tiers":["Gold"]}`, code: "FLT_ERR_CONFIG_VALUE", field: "tiers[0]" },
  { name: "tier reserved", config: `{"aggregator_cluster":"a","tiers":["other"]}`, code: "FLT_ERR_CONFIG_VALUE", field: "tiers[0]" },
  { name: "tier duplicate", config: `{"aggregator_cluster":"a","tiers":["a","a"]}`, code: "FLT_ERR_CONFIG_VALUE", field: "tiers[1]" },
  { name: "tier too long", config: `{"aggregator_cluster":"a","tiers":["${"x".repeat(65)}"]}`, code: "FLT_ERR_CONFIG_RANGE", field: "tiers[0]" },
  { name: "tier non-ASCII", config: `{"aggregator_cluster":"a","tiers":["gölд"]}`, code: "FLT_ERR_CONFIG_VALUE", field: "tiers[0]" },
  { name: "tier header not a token", config: `{"aggregator_cluster":"a","tier_header":"x tier"}`, code: "FLT_ERR_CONFIG_VALUE", field: "tier_header" },
  { name: "app metric not a token", config: `{"aggregator_cluster":"a","app_timing_metric":"a;b"}`, code: "FLT_ERR_CONFIG_VALUE", field: "app_timing_metric" },
  { name: "region_default wrong type", config: `{"aggregator_cluster":"a","region_default":true}`, code: "FLT_ERR_CONFIG_TYPE", field: "region_default" },
  { name: "exemplars_sampled_only a number", config: `{"aggregator_cluster":"a","exemplars_sampled_only":1}`, code: "FLT_ERR_CONFIG_TYPE", field: "exemplars_sampled_only" },
  { name: "exemplars_sampled_only a string", config: `{"aggregator_cluster":"a","exemplars_sampled_only":"true"}`, code: "FLT_ERR_CONFIG_TYPE", field: "exemplars_sampled_only" },
];

for (const c of invalid) {
  test(`config invalid: ${c.name} -> ${c.code}`, async () => {
    const h = await harness(c.config);
    try {
      assert.equal(h.plugin.accepted, false);
      const errors = h.plugin.canary.logs.filter((l) => l.level === "error");
      assert.equal(errors.length, 1, JSON.stringify(h.plugin.canary.logs));
      assert.equal(errors[0]!.source, "proxy_log");
      assert.ok(errors[0]!.message.startsWith(`${c.code} field=${c.field}: `), errors[0]!.message);
      assert.equal(h.plugin.canary.failed, false, "a bad configuration never traps");
    } finally {
      h.stop();
    }
  });
}
