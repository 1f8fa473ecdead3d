// The latency split of every destination service at once (the web page's one call per refresh):
// the window's entries are partitioned by service in one pass, then each part goes through the
// same latency() as GET /api/v1/latency. Pure.
import { latency } from "./latency.ts";
import type { LatencyGroup, LatencyQuery } from "./latency.ts";
import { isOverflow } from "./aggregate.ts";
import type { WindowEntry } from "../store/windows.ts";
import { L } from "../wire/types.ts";

export interface ServiceLatency { destination_service: string; groups: LatencyGroup[] }

export function latencyByService(entries: Iterable<WindowEntry>, q: Omit<LatencyQuery, "destinationService">): ServiceLatency[] {
  const parts = new Map<string, WindowEntry[]>();
  for (const e of entries) {
    if (isOverflow(e.labels)) continue;
    const svc = e.labels[L.destination_service]!;
    let p = parts.get(svc);
    if (!p) parts.set(svc, (p = []));
    p.push(e);
  }
  return [...parts.keys()].sort().map((svc) => ({ destination_service: svc, groups: latency(parts.get(svc)!, { ...q, destinationService: svc }) }));
}
