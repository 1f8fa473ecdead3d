// The observed dependency graph: workloads → services, from the window's series. Pure.
import { Agg, isOverflow } from "./aggregate.ts";
import type { WindowEntry } from "../store/windows.ts";
import { L, TIMING_NAMES } from "../wire/types.ts";
import { isFailedRequest } from "./request-error.ts";

export interface GraphEdge {
  source: string;
  destination: string;
  reporter: "source" | "destination";
  requests: number;
  rate_per_s: number;
  error_rate: number;
  p99_ms: number | null;
  mtls_share: number | null;
}
export interface GraphNode { id: string; kind: "workload" | "service"; name: string; namespace: string }

/** `checkout.shop.svc.cluster.local` → `shop`; a bare host has no namespace. */
export function serviceNamespace(fqdn: string): string {
  const parts = fqdn.split(".");
  return parts.length >= 2 ? parts[1]! : "";
}

const REQUEST = TIMING_NAMES.indexOf("request");
/** The timings the graph reads (its p99): a view from Prometheus fetches only these. */
export const GRAPH_TIMINGS: readonly number[] = [REQUEST];

const isError = (l: readonly string[]) => isFailedRequest(l[L.response_code]!, l[L.response_flags]!);

export function graph(entries: Iterable<WindowEntry>, q: { windowMs: number; namespace?: string }): { nodes: GraphNode[]; edges: GraphEdge[] } {
  type Side = { all: Agg; errors: number; mtls: number };
  const src = new Map<string, Side>();
  const dst = new Map<string, Side>();
  const side = (m: Map<string, Side>, k: string) => { let s = m.get(k); if (!s) { s = { all: new Agg(), errors: 0, mtls: 0 }; m.set(k, s); } return s; };
  const edgeInfo = new Map<string, { wl: string; ns: string; svc: string }>();
  for (const e of entries) {
    const l = e.labels;
    if (isOverflow(l)) continue;
    const wl = l[L.source_workload]!, ns = l[L.source_namespace]!, svc = l[L.destination_service]!;
    if (q.namespace !== undefined && ns !== q.namespace && serviceNamespace(svc) !== q.namespace) continue;
    const k = wl + "\u0000" + ns + "\u0000" + svc;
    edgeInfo.set(k, { wl, ns, svc });
    const s = side(l[L.reporter] === "source" ? src : dst, k);
    s.all.add(e);
    if (isError(l)) s.errors += e.count;
    if (l[L.connection_security_policy] === "mutual_tls") s.mtls += e.count;
  }
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  for (const [k, info] of [...edgeInfo].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const s = src.get(k), d = dst.get(k);
    // The client side when it counted requests; else the server side; else (a client series of 0
    // requests, valid on the wire) the empty client side.
    const p = s && (s.all.count > 0 || !d) ? s : d!;
    const from = `${info.wl}.${info.ns}`;
    nodes.set(from, { id: from, kind: "workload", name: info.wl, namespace: info.ns });
    nodes.set(info.svc, { id: info.svc, kind: "service", name: info.svc.split(".")[0]!, namespace: serviceNamespace(info.svc) });
    edges.push({
      source: from,
      destination: info.svc,
      reporter: p === s ? "source" : "destination",
      requests: p.all.count,
      rate_per_s: p.all.count / (q.windowMs / 1000),
      error_rate: p.all.count > 0 ? p.errors / p.all.count : 0,
      p99_ms: p.all.timings[REQUEST]?.quantileMs(0.99) ?? null,
      // Only the server side knows the connection's mTLS state (the client reports `unknown`).
      mtls_share: d && d.all.count > 0 ? d.mtls / d.all.count : null,
    });
  }
  return { nodes: [...nodes.values()], edges };
}
