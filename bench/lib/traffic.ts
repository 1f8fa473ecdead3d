// The request mixes the benchmarks drive, as data: one sidecar (frontend in shop, eu-west-1)
// calling three services, with a realistic spread of tiers, status codes and latencies.
// Deterministic (seeded PRNG) so that wire sizes and counts are exact from run to run.

export const AGGREGATOR_CLUSTER = "outbound|9464||meshlat-aggregator.istio-system.svc.cluster.local";

export const NODE = {
  id: "sidecar~10.1.2.3~frontend-7d9f8b6c5-x2x4q.shop~shop.svc.cluster.local",
  cluster: "frontend.shop",
  metadata: {
    WORKLOAD_NAME: "frontend",
    NAMESPACE: "shop",
    CLUSTER_ID: "Kubernetes",
    LABELS: { app: "frontend", version: "v1", "topology.kubernetes.io/region": "eu-west-1" },
  },
  locality: { region: "eu-west-1", zone: "eu-west-1a" },
};

/** The plugin configuration the benchmarks run meshlat with (DESIGN.md defaults otherwise). */
export function pluginConfig(over: Record<string, unknown> = {}): string {
  return JSON.stringify({ aggregator_cluster: AGGREGATOR_CLUSTER, flush_interval_ms: 1000, ...over });
}

/** mulberry32, shared with the sample mesh so both pick mixes reproducibly the same way. */
export { seededRandom as prng } from "../../test/support/rand.ts";

export function pick<T>(rand: () => number, weighted: readonly (readonly [T, number])[]): T {
  const total = weighted.reduce((s, [, w]) => s + w, 0);
  let x = rand() * total;
  for (const [v, w] of weighted) if ((x -= w) < 0) return v;
  return weighted[weighted.length - 1][0];
}

export const DESTINATIONS = [
  ["checkout.shop.svc.cluster.local", 0.5],
  ["catalog.shop.svc.cluster.local", 0.35],
  ["payments.billing.svc.cluster.local", 0.15],
] as const;
export const TIERS = [["free", 0.5], ["standard", 0.25], ["premium", 0.15], ["enterprise", 0.05], [undefined, 0.05]] as const;
export const STATUSES = [[200, 0.98], [503, 0.015], [404, 0.005]] as const;

/** One request as the benchmarks describe it, independent of any host API. */
export interface RequestCase {
  direction: "outbound" | "inbound";
  destination: string;            // FQDN
  port: number;
  tier: string | undefined;       // x-user-tier, undefined = header absent
  status: number;
  responseFlags: number;          // Envoy bitmask, 0 = none
  mtls: boolean;
  peerRegion: string;
  upstreamMs: number;             // t2 - t1
  responseMs: number;             // t3 - t2
  appMs: number | undefined;      // Server-Timing app;dur=…, undefined = no header
  path: string;
  requestId: string;
  responseBytes: number;
}

export function requestCase(rand: () => number, over: Partial<RequestCase> = {}): RequestCase {
  const upstreamMs = 2 + rand() * 18;
  return {
    direction: "outbound",
    destination: pick(rand, DESTINATIONS),
    port: 8080,
    tier: pick(rand, TIERS),
    status: pick(rand, STATUSES),
    responseFlags: 0,
    mtls: false,
    peerRegion: "eu-west-1",
    upstreamMs,
    responseMs: 0.1 + rand() * 0.4,
    appMs: upstreamMs * (0.6 + rand() * 0.3),
    path: `/api/v1/items/${Math.floor(rand() * 100000)}`,
    requestId: uuid(rand),
    responseBytes: 200 + Math.floor(rand() * 4000),
    ...over,
  };
}

export function uuid(rand: () => number): string {
  const h = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16)).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

export const USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

/** Request headers as Envoy hands them to a filter (pseudo-headers first, lower-case names). */
export function requestHeaders(c: RequestCase): [string, string][] {
  const h: [string, string][] = [
    [":authority", `${c.destination.split(".")[0]}:${c.port}`],
    [":path", c.path],
    [":method", "GET"],
    [":scheme", "http"],
    ["user-agent", USER_AGENT],
    ["accept", "application/json"],
    ["x-forwarded-proto", "http"],
    ["x-request-id", c.requestId],
  ];
  if (c.tier !== undefined) h.push(["x-user-tier", c.tier]);
  return h;
}

export function responseHeaders(c: RequestCase): [string, string][] {
  const h: [string, string][] = [
    [":status", String(c.status)],
    ["content-type", "application/json"],
    ["content-length", String(c.responseBytes)],
    ["date", "Fri, 27 Nov 2026 04:00:00 GMT"],
    ["x-envoy-upstream-service-time", String(Math.round(c.upstreamMs))],
  ];
  if (c.appMs !== undefined) h.push(["server-timing", `db;dur=1.2, app;dur=${c.appMs.toFixed(3)}`]);
  return h;
}
