// GET /api/v1/latency and GET /api/v1/graph: JSON Schemas for the query strings (fastify/ajv
// validates them; a failure is 400 AGG_ERR_BAD_QUERY naming the parameter) and the responses
// (fast-json-stringify serializes them), over the pure computations in query/.
import type { FastifyInstance, FastifySchemaValidationError } from "fastify";
import { AggError } from "../errors.ts";
import { latency } from "../query/latency.ts";
import type { GroupBy } from "../query/latency.ts";
import { GRAPH_TIMINGS, graph } from "../query/graph.ts";
import { WINDOWS_MS } from "../store/windows.ts";
import type { AggregatorState } from "../store/state.ts";
import type { WindowEntry } from "../store/windows.ts";
import { PrometheusSource } from "../query/prometheus-source.ts";
import { matcher } from "../query/promql.ts";
import { ERROR_BODY } from "./error-reply.ts";

const WINDOWS = Object.keys(WINDOWS_MS);
const GROUP_BY: readonly GroupBy[] = ["user_tier", "region"];
const REPORTERS = ["source", "destination"] as const;

export const window = { type: "string", enum: WINDOWS, default: "5m" } as const;
// A comma-separated list; blank items are ignored ("user_tier,,region ").
export const byList = { type: "string", pattern: `^\\s*(${GROUP_BY.join("|")})?\\s*(,\\s*(${GROUP_BY.join("|")})?\\s*)*$` } as const;

const latencyQuery = {
  type: "object",
  required: ["destination_service"],
  properties: {
    destination_service: { type: "string", minLength: 1 },
    window,
    by: byList,
    reporter: { type: "string", enum: REPORTERS },
  },
} as const;

const graphQuery = { type: "object", properties: { window, namespace: { type: "string" } } } as const;

const num = { type: "number" } as const;
const numOrNull = { type: ["number", "null"] } as const;
const str = { type: "string" } as const;
const timingStats = {
  type: ["object", "null"],
  properties: { samples: num, mean_ms: numOrNull, p50_ms: numOrNull, p95_ms: numOrNull, p99_ms: numOrNull, share: numOrNull },
} as const;
const splitPart = { type: "object", properties: { mean_ms: num, share: num } } as const;
const splitPartOrNull = { ...splitPart, type: ["object", "null"] } as const;

export const latencyResponse = {
  type: "object",
  properties: {
    destination_service: str, window: str, window_seconds: num, span_seconds: num,
    by: { type: "array", items: str }, min_samples: num,
    groups: {
      type: "array",
      items: {
        type: "object",
        properties: {
          user_tier: str, region: str, reporter: str, requests: num, rate_per_s: num,
          timings: { type: "object", additionalProperties: timingStats },
          source: str,
          split: { type: "object", properties: { proxy: splitPart, network: splitPartOrNull, app: splitPartOrNull, upstream: splitPart } },
          verdict: str, verdict_reason: str,
          slowest: { type: "array", items: { type: "object", properties: { trace_id: str, request_ms: num, time_ms: num, trace_url: { type: ["string", "null"] } } } },
        },
      },
    },
  },
} as const;

export const graphResponse = {
  type: "object",
  properties: {
    window: str, window_seconds: num, span_seconds: num, namespace: { type: ["string", "null"] },
    nodes: { type: "array", items: { type: "object", properties: { id: str, kind: str, name: str, namespace: str } } },
    edges: {
      type: "array",
      items: {
        type: "object",
        properties: { source: str, destination: str, reporter: str, requests: num, rate_per_s: num, error_rate: num, p99_ms: numOrNull, mtls_share: numOrNull },
      },
    },
  },
} as const;

/** The messages users see for a bad parameter, by the ajv keyword that refused it. */
export function queryError(errors: FastifySchemaValidationError[]): AggError {
  const e = errors[0]!;
  const name = e.keyword === "required" ? String(e.params.missingProperty) : e.instancePath.replace(/^\//, "");
  let message: string;
  if (e.keyword === "required" || e.keyword === "minLength") message = `${name} is required`;
  else if (e.keyword === "type") message = `${name} given more than once`;
  else if (name === "window") message = `window must be one of ${WINDOWS.join(", ")}`;
  else if (name === "by") message = `by accepts ${GROUP_BY.join(" and ")}`;
  else if (name === "reporter") message = `reporter must be ${REPORTERS.join(" or ")}`;
  else message = `${name} ${e.message ?? "is invalid"}`;
  return new AggError("AGG_ERR_BAD_QUERY", message, name);
}

interface LatencyQuery { destination_service: string; window: string; by?: string; reporter?: (typeof REPORTERS)[number] }
interface GraphQuery { window: string; namespace?: string }

/**
 * What a view is computed over: the local store's window, or with `prometheus_url` the window
 * summed across replicas by Prometheus; the span is the time the window's data covers.
 * `timings`: the timings (TIMING_NAMES indexes) the view reads; from Prometheus only those are
 * fetched (the local store's entries carry all of them anyway).
 */
export async function viewEntries(state: AggregatorState, prom: PrometheusSource | null, now: number, windowMs: number, destinationService?: string,
  timings?: readonly number[]): Promise<{ entries: Iterable<WindowEntry>; spanMs: number }> {
  if (!prom) return { entries: state.windows.entries(now, windowMs), spanMs: state.spanMs(now, windowMs) };
  const matchers = destinationService === undefined ? [] : [matcher("destination_service", destinationService)];
  return prom.window(now, windowMs, state.config.histogram_buckets, matchers, timings);
}

export function prometheusSource(state: AggregatorState): PrometheusSource | null {
  return state.config.prometheus_url ? new PrometheusSource(state.config.prometheus_url, state.config.prometheus_step_s, state.config.prometheus_timeout_ms) : null;
}

export async function apiRoutes(app: FastifyInstance, opts: { state: AggregatorState }): Promise<void> {
  const { state } = opts;
  const prom = prometheusSource(state);
  app.setSchemaErrorFormatter((errors) => queryError(errors));

  app.get<{ Querystring: LatencyQuery }>("/api/v1/latency", {
    schema: { querystring: latencyQuery, response: { 200: latencyResponse, "4xx": ERROR_BODY, "5xx": ERROR_BODY } },
  }, async (req) => {
    const { destination_service: svc, window, reporter } = req.query;
    const windowMs = WINDOWS_MS[window]!;
    const by = (req.query.by ?? "").split(",").map((s) => s.trim()).filter(Boolean) as GroupBy[];
    const { entries, spanMs: coveredMs } = await viewEntries(state, prom, state.now(), windowMs, svc);
    const groups = latency(entries, {
      destinationService: svc, windowMs: coveredMs, by, reporter, minSamples: state.config.min_samples,
      traceUrlTemplate: state.config.trace_url_template,
    });
    return { destination_service: svc, window, window_seconds: windowMs / 1000, span_seconds: coveredMs / 1000, by, min_samples: state.config.min_samples, groups };
  });

  app.get<{ Querystring: GraphQuery }>("/api/v1/graph", {
    schema: { querystring: graphQuery, response: { 200: graphResponse, "4xx": ERROR_BODY, "5xx": ERROR_BODY } },
  }, async (req) => {
    const { window } = req.query;
    const windowMs = WINDOWS_MS[window]!;
    const namespace = req.query.namespace || undefined;
    const { entries, spanMs: coveredMs } = await viewEntries(state, prom, state.now(), windowMs, undefined, GRAPH_TIMINGS);
    const g = graph(entries, { windowMs: coveredMs, namespace });
    return { window, window_seconds: windowMs / 1000, span_seconds: coveredMs / 1000, namespace: namespace ?? null, ...g };
  });
}
