// GET /api/v1/overview: everything the web page shows, in one call per refresh — the graph, the
// latency split of every service, and the filters' health — over one window. Each part is the
// same computation as its own API (query/graph.ts, query/latency.ts), so they always agree.
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { graph } from "../query/graph.ts";
import type { GroupBy } from "../query/latency.ts";
import { latencyByService } from "../query/services.ts";
import { WINDOWS_MS } from "../store/windows.ts";
import type { AggregatorState } from "../store/state.ts";
import { COUNTER_KEYS } from "../wire/types.ts";
import { byList, graphResponse, latencyResponse, prometheusSource, queryError, viewEntries, window } from "./api.ts";
import { ERROR_BODY } from "./error-reply.ts";

/** A filter VM counts as reporting when it sent a batch this recently (as meshlat_filter_vms). */
const REPORTING_MS = 5 * 60_000;

const num = { type: "number" } as const;
const str = { type: "string" } as const;

const overviewQuery = { type: "object", properties: { window, by: byList, namespace: str } } as const;

const overviewResponse = {
  type: "object",
  properties: {
    window: str, window_seconds: num, span_seconds: num, by: { type: "array", items: str },
    namespace: { type: ["string", "null"] }, min_samples: num,
    graph: { type: "object", properties: { nodes: graphResponse.properties.nodes, edges: graphResponse.properties.edges } },
    services: { type: "array", items: { type: "object", properties: { destination_service: str, groups: latencyResponse.properties.groups } } },
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
} as const;

interface OverviewQuery { window: string; by?: string; namespace?: string }

async function batchCounts(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = { accepted: 0, duplicate: 0, rejected: 0, shed: 0 };
  const m = await registry.getSingleMetric("meshlat_aggregator_batches_total")?.get();
  for (const v of m?.values ?? []) out[String(v.labels.result)] = v.value;
  return out;
}

export async function overviewRoutes(app: FastifyInstance, opts: { state: AggregatorState; registry: Registry }): Promise<void> {
  const { state, registry } = opts;
  const prom = prometheusSource(state);
  app.setSchemaErrorFormatter((errors) => queryError(errors));

  app.get<{ Querystring: OverviewQuery }>("/api/v1/overview", {
    schema: { querystring: overviewQuery, response: { 200: overviewResponse, "4xx": ERROR_BODY, "5xx": ERROR_BODY } },
  }, async (req) => {
    const { window, namespace } = req.query;
    const by = [...new Set((req.query.by ?? "").split(",").map((s) => s.trim()).filter(Boolean))] as GroupBy[];
    const windowMs = WINDOWS_MS[window]!;
    const now = state.now();
    const minSamples = state.config.min_samples;
    // One read of the window: with prometheus_url it is a round of queries, not a map walk.
    const { entries, spanMs } = await viewEntries(state, prom, now, windowMs);
    const all = [...entries];
    const g = graph(all, { windowMs: spanMs, namespace: namespace || undefined });
    const shown = new Set(g.edges.map((e) => e.destination));
    const services = latencyByService(all, { windowMs: spanMs, by, minSamples, traceUrlTemplate: state.config.trace_url_template })
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
