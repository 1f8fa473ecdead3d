// @ts-check
// The page's one API call per refresh: GET api/v1/overview (docs/aggregator.md "Overview API").

/** A request that does not answer within this is treated as an unreachable API. */
const TIMEOUT_MS = 4000;

/**
 * @typedef {{ id: string, kind: "workload" | "service", name: string, namespace: string }} GraphNode
 * @typedef {{ source: string, destination: string, reporter: string, requests: number, rate_per_s: number, error_rate: number, p99_ms: number | null, mtls_share: number | null }} GraphEdge
 * @typedef {{ mean_ms: number, share: number }} SplitPart
 * @typedef {{ samples: number, mean_ms: number | null, p50_ms: number | null, p95_ms: number | null, p99_ms: number | null, share: number | null }} TimingStats
 * @typedef {{ user_tier?: string, region?: string, reporter: string, requests: number, rate_per_s: number,
 *   timings: Record<string, TimingStats | null>, source: string,
 *   split: { proxy: SplitPart, network: SplitPart | null, app: SplitPart | null, upstream: SplitPart },
 *   verdict: string, verdict_reason: string,
 *   slowest?: { trace_id: string, request_ms: number, time_ms: number, trace_url: string | null }[] }} LatencyGroup
 * @typedef {{ workload: string, namespace: string, proxies: number, vms: number, requests: number, folded_requests: number, dropped_batches: number, failed_flushes: number }} WorkloadHealth
 * @typedef {{ window: string, window_seconds: number, span_seconds: number, by: string[], min_samples: number,
 *   graph: { nodes: GraphNode[], edges: GraphEdge[] },
 *   services: { destination_service: string, groups: LatencyGroup[] }[],
 *   filters: { reporting_seconds: number, workloads: WorkloadHealth[], batches: Record<string, number>, series: number, series_limit: number, series_folded: number } }} Overview
 */

/**
 * @param {{ window: string, by: string }} q
 * @returns {Promise<Overview>}
 */
export async function fetchOverview(q) {
  const params = new URLSearchParams({ window: q.window });
  if (q.by) params.set("by", q.by);
  let res;
  try {
    res = await fetch(`api/v1/overview?${params}`, { signal: AbortSignal.timeout(TIMEOUT_MS), cache: "no-store" });
  } catch (err) {
    const timedOut = err instanceof DOMException && err.name === "TimeoutError";
    throw new Error(timedOut ? `no answer within ${TIMEOUT_MS / 1000} s` : "connection failed", { cause: err });
  }
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    throw new Error(`HTTP ${res.status}${body && body.code ? ` ${body.code}: ${body.message}` : ""}`);
  }
  return res.json();
}
