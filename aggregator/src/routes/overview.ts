// GET /api/v1/overview: everything the web page shows, in one call per refresh — the graph, the
// latency split of every service, and the filters' health — over one window. Each part is the
// same computation as its own API (query/graph.ts, query/latency.ts), so they always agree.
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { AggError } from "../errors.ts";
import { graph } from "../query/graph.ts";
import type { GroupBy } from "../query/latency.ts";
import { latencyByService } from "../query/services.ts";
import { WINDOWS_MS } from "../store/windows.ts";
import type { AggregatorState } from "../store/state.ts";
import { COUNTER_KEYS, TIMING_NAMES } from "../wire/types.ts";

/** A filter VM counts as reporting when it sent a batch this recently (as meshlat_filter_vms). */
const REPORTING_MS = 5 * 60_000;

const num = { type: "number" } as const;
const numOrNull = { type: ["number", "null"] } as const;
const str = { type: "string" } as const;
const part = { type: "object", required: ["mean_ms", "share"], properties: { mean_ms: num, share: num } } as const;
const timing = {
  type: ["object", "null"],
  properties: { samples: num, mean_ms: numOrNull, p50_ms: numOrNull, p95_ms: numOrNull, p99_ms: numOrNull, share: numOrNull },
} as const;
const group = {
  type: "object",
  required: ["reporter", "requests", "rate_per_s", "timings", "source", "split", "verdict", "verdict_reason"],
  properties: {
    user_tier: str, region: str, reporter: str, requests: num, rate_per_s: num,
    timings: { type: "object", properties: Object.fromEntries(TIMING_NAMES.map((t) => [t, timing])) },
    source: str,
    split: { type: "object", properties: { proxy: part, network: { ...part, type: ["object", "null"] }, app: { ...part, type: ["object", "null"] }, upstream: part } },
    verdict: str, verdict_reason: str,
  },
} as const;

export const overviewSchema = {
  querystring: {
    type: "object",
    additionalProperties: false,
    properties: {
      window: { type: "string", enum: Object.keys(WINDOWS_MS), default: "5m" },
      // comma list of the labels to break each service down by
      by: { type: "string", pattern: "^((user_tier|region)(,(user_tier|region))?)?$", default: "" },
      namespace: { type: "string", default: "" },
    },
  },
  response: {
    200: {
      type: "object",
      properties: {
        window: str, window_seconds: num, span_seconds: num, by: { type: "array", items: str },
        namespace: { type: ["string", "null"] }, min_samples: num,
        // Nodes and edges keep any field the graph API adds (additionalProperties).
        graph: {
          type: "object",
          properties: {
            nodes: { type: "array", items: { type: "object", additionalProperties: true, properties: { id: str, kind: str, name: str, namespace: str } } },
            edges: { type: "array", items: { type: "object", additionalProperties: true, properties: { source: str, destination: str, reporter: str, requests: num, rate_per_s: num, error_rate: num, p99_ms: numOrNull, mtls_share: numOrNull } } },
          },
        },
        services: { type: "array", items: { type: "object", properties: { destination_service: str, groups: { type: "array", items: group } } } },
        filters: {
          type: "object",
          properties: {
            reporting_seconds: num,
            workloads: {
              type: "array",
              items: { type: "object", properties: { workload: str, namespace: str, proxies: num, vms: num, ...Object.fromEntries(COUNTER_KEYS.map((k) => [k, num])) } },
            },
            batches: { type: "object", properties: { accepted: num, duplicate: num, rejected: num, shed: num } },
            series: num, series_limit: num, series_folded: num,
          },
        },
      },
    },
  },
} as const;

interface OverviewQuery { window: string; by: string; namespace: string }

async function batchCounts(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = { accepted: 0, duplicate: 0, rejected: 0, shed: 0 };
  const m = await registry.getSingleMetric("meshlat_aggregator_batches_total")?.get();
  for (const v of m?.values ?? []) out[String(v.labels.result)] = v.value;
  return out;
}

export async function overviewRoutes(app: FastifyInstance, opts: { state: AggregatorState; registry: Registry }): Promise<void> {
  const { state, registry } = opts;
  app.get<{ Querystring: OverviewQuery }>("/api/v1/overview", { schema: overviewSchema, attachValidation: true }, async (req) => {
    if (req.validationError) {
      const v = req.validationError.validation?.[0];
      const param = v?.instancePath.replace(/^\//, "") || String(v?.params?.additionalProperty ?? "");
      throw new AggError("AGG_ERR_BAD_QUERY", `${param || "query"}: ${v?.message ?? req.validationError.message}`, param);
    }
    const { window, namespace } = req.query;
    const by = req.query.by ? [...new Set(req.query.by.split(","))] as GroupBy[] : [];
    const windowMs = WINDOWS_MS[window]!;
    const now = state.now();
    const spanMs = state.spanMs(now, windowMs);
    const minSamples = state.config.min_samples;
    const g = graph(state.windows.entries(now, windowMs), { windowMs: spanMs, namespace: namespace || undefined });
    const shown = new Set(g.edges.map((e) => e.destination));
    const services = latencyByService(state.windows.entries(now, windowMs), { windowMs: spanMs, by, minSamples })
      .filter((s) => !namespace || shown.has(s.destination_service));
    // Every workload that ever reported (its cumulative counters), with what reports now.
    const reporting = new Map(state.vms.reporting(now - REPORTING_MS).map((w) => [w.workload + "\u0000" + w.namespace, w]));
    const workloads = state.vms.byWorkload(0).map((w) => {
      const r = reporting.get(w.workload + "\u0000" + w.namespace);
      return { workload: w.workload, namespace: w.namespace, proxies: r?.proxies ?? 0, vms: r?.vms ?? 0, ...w.counters };
    }).sort((a, b) => (a.namespace + "." + a.workload < b.namespace + "." + b.workload ? -1 : 1));
    return {
      window, window_seconds: windowMs / 1000, span_seconds: spanMs / 1000, by, namespace: namespace || null, min_samples: minSamples,
      graph: g,
      services,
      filters: {
        reporting_seconds: REPORTING_MS / 1000,
        workloads,
        batches: await batchCounts(registry),
        series: state.store.size, series_limit: state.config.max_series, series_folded: state.store.folded,
      },
    };
  });
}
