// The latency verdict: where does a service's time go? Pure over window entries; the rule is
// documented in docs/aggregator.md ("Verdict rule").
import { Agg, aggOf, isOverflow } from "./aggregate.ts";
import type { WindowEntry } from "../store/windows.ts";
import { L, TIMING_NAMES } from "../wire/types.ts";

export type GroupBy = "user_tier" | "region";
export type Verdict = "proxy" | "network" | "application" | "insufficient_data";
export type SplitSource = "server_timing" | "paired_reporters" | "proxy_only";

export interface LatencyQuery {
  readonly destinationService: string;
  /** Time the entries cover (WindowRing.coveredMs): the divisor of rate_per_s. */
  readonly windowMs: number;
  readonly by: readonly GroupBy[];
  readonly reporter?: "source" | "destination";
  readonly minSamples: number;
  /** trace_url_template: `{trace_id}` replaced by the trace id; empty for no links. */
  readonly traceUrlTemplate: string;
}

export interface TimingStats { samples: number; mean_ms: number | null; p50_ms: number | null; p95_ms: number | null; p99_ms: number | null; share: number | null }
export interface SplitPart { mean_ms: number; share: number }
export interface LatencyGroup {
  user_tier?: string;
  region?: string;
  reporter: "source" | "destination";
  requests: number;
  rate_per_s: number;
  timings: Record<string, TimingStats | null>;
  source: SplitSource;
  split: { proxy: SplitPart; network: SplitPart | null; app: SplitPart | null; upstream: SplitPart };
  verdict: Verdict;
  verdict_reason: string;
  /** The window's slowest traced requests, slowest first: the trace to open for a slow p99. */
  slowest: { trace_id: string; request_ms: number; time_ms: number; trace_url: string | null }[];
}

/** Server-Timing drives the split when at least this share of requests carried it. */
const APP_COVERAGE = 0.5;
const T = Object.fromEntries(TIMING_NAMES.map((n, i) => [n, i])) as Record<(typeof TIMING_NAMES)[number], number>;

function stats(a: Agg, t: number, totalMean: number | null): TimingStats | null {
  const h = a.timings[t];
  if (!h || h.n === 0) return null;
  const mean = h.meanMs();
  return {
    samples: h.n,
    mean_ms: mean,
    p50_ms: h.quantileMs(0.5),
    p95_ms: h.quantileMs(0.95),
    p99_ms: h.quantileMs(0.99),
    share: mean !== null && totalMean ? mean / totalMean : null,
  };
}

const part = (ms: number, total: number): SplitPart => ({ mean_ms: ms, share: total > 0 ? ms / total : 0 });

function group(primary: Agg, reporter: "source" | "destination", paired: Agg | undefined, q: LatencyQuery): LatencyGroup {
  const total = primary.mean(T.request) ?? 0;
  const upstream = primary.mean(T.upstream) ?? 0;
  // proxy = total - upstream holds for means over the same requests; the filter's proxy timing
  // covers requests without response headers too, so derive it from the two means.
  const proxyMs = Math.max(0, total - upstream);
  const timings: Record<string, TimingStats | null> = {};
  TIMING_NAMES.forEach((n, i) => { timings[n] = stats(primary, i, total || null); });

  let source: SplitSource;
  let split: LatencyGroup["split"];
  const reqN = primary.n(T.request);
  const hasPair = reporter === "source" && paired !== undefined && paired.n(T.request) > 0 && paired.n(T.upstream) > 0;
  if (primary.n(T.app) > 0 && primary.n(T.app) >= APP_COVERAGE * reqN) {
    // Server-Timing: upstream = app + network per request; split the mean upstream in the
    // ratio of the app and network means (they cover only requests that carried the header).
    source = "server_timing";
    const a = primary.mean(T.app) ?? 0;
    const n = primary.mean(T.network) ?? 0;
    const appMs = a + n > 0 ? (upstream * a) / (a + n) : 0;
    // The client's upstream - app still holds the server sidecar (DESIGN.md "Correlation"): with the
    // destination reporter's series, its time (server total - server upstream) moves to proxy.
    const serverProxy = hasPair ? Math.min(Math.max(0, paired!.mean(T.request)! - paired!.mean(T.upstream)!), upstream - appMs) : 0;
    split = { proxy: part(proxyMs + serverProxy, total), network: part(upstream - appMs - serverProxy, total), app: part(appMs, total), upstream: part(upstream, total) };
  } else if (hasPair) {
    // DESIGN.md "Correlation when the app sends no Server-Timing": the server's total covers
    // server sidecar + app, its upstream is the app over loopback; the rest of the client's
    // upstream is network.
    source = "paired_reporters";
    const serverTotal = paired!.mean(T.request)!;
    const appMs = Math.min(paired!.mean(T.upstream)!, upstream);
    const serverProxy = Math.max(0, Math.min(serverTotal, upstream) - appMs);
    const networkMs = Math.max(0, upstream - appMs - serverProxy);
    split = { proxy: part(proxyMs + serverProxy, total), network: part(networkMs, total), app: part(appMs, total), upstream: part(upstream, total) };
  } else {
    source = "proxy_only";
    split = { proxy: part(proxyMs, total), network: null, app: null, upstream: part(upstream, total) };
  }

  let verdict: Verdict;
  let reason: string;
  if (primary.count < q.minSamples || reqN === 0) {
    verdict = "insufficient_data";
    reason = `${primary.count} requests in the window; at least ${q.minSamples} needed`;
  } else if (source === "proxy_only") {
    if (split.proxy.share >= 0.5) { verdict = "proxy"; reason = "proxy time is at least half of the mean total"; }
    else { verdict = "insufficient_data"; reason = "upstream time not split: no Server-Timing and no paired destination reporter"; }
  } else {
    const parts: [Verdict, number][] = [["proxy", split.proxy.share], ["network", split.network!.share], ["application", split.app!.share]];
    parts.sort((x, y) => y[1] - x[1]);
    verdict = parts[0]![0];
    reason = `largest share of the mean total: ${verdict} ${(parts[0]![1] * 100).toFixed(1)}%`;
  }

  const link = (id: string) => (q.traceUrlTemplate ? q.traceUrlTemplate.replaceAll("{trace_id}", id) : null);
  const slowest = primary.slowest.map((e) => ({ trace_id: e.traceId, request_ms: e.valueMs, time_ms: e.timeMs, trace_url: link(e.traceId) }));
  return { reporter, requests: primary.count, rate_per_s: primary.count / (q.windowMs / 1000), timings, source, split, verdict, verdict_reason: reason, slowest };
}

export function latency(entries: Iterable<WindowEntry>, q: LatencyQuery): LatencyGroup[] {
  const byTier = q.by.includes("user_tier");
  const byRegion = q.by.includes("region");
  const keyOf = (l: readonly string[]) => (byTier ? l[L.user_tier]! : "") + "\u0000" + (byRegion ? l[L.region]! : "");
  const src = new Map<string, Agg>();
  const dst = new Map<string, Agg>();
  // The server's series carry the server's region, so pairing matches on tier only.
  const dstPair = new Map<string, Agg>();
  for (const e of entries) {
    const l = e.labels;
    if (isOverflow(l) || l[L.destination_service] !== q.destinationService) continue;
    const k = keyOf(l);
    if (l[L.reporter] === "source") aggOf(src, k).add(e);
    else if (l[L.reporter] === "destination") {
      aggOf(dst, k).add(e);
      aggOf(dstPair, byTier ? l[L.user_tier]! : "").add(e);
    }
  }
  const keys = new Set<string>();
  if (q.reporter !== "destination") for (const k of src.keys()) keys.add(k);
  if (q.reporter !== "source") for (const k of dst.keys()) keys.add(k);
  const out: LatencyGroup[] = [];
  for (const k of [...keys].sort()) {
    const [tier, region] = k.split("\u0000") as [string, string];
    const useSrc = q.reporter === "source" || (q.reporter === undefined && src.has(k));
    const primary = useSrc ? src.get(k)! : dst.get(k)!;
    const g = group(primary, useSrc ? "source" : "destination", dstPair.get(byTier ? tier : ""), q);
    const labelled: LatencyGroup = { ...(byTier ? { user_tier: tier } : {}), ...(byRegion ? { region } : {}), ...g };
    out.push(labelled);
  }
  return out;
}
