// GET /api/v1/latency and GET /api/v1/graph: query-parameter validation and JSON over the
// pure computations in query/.
import type { FastifyInstance } from "fastify";
import { AggError } from "../errors.ts";
import { latency } from "../query/latency.ts";
import type { GroupBy } from "../query/latency.ts";
import { graph } from "../query/graph.ts";
import { WINDOWS_MS } from "../store/windows.ts";
import type { AggregatorState } from "../store/state.ts";

type Query = Record<string, string | string[] | undefined>;

function one(q: Query, name: string): string | undefined {
  const v = q[name];
  if (Array.isArray(v)) throw new AggError("AGG_ERR_BAD_QUERY", `${name} given more than once`, name);
  return v;
}

function windowOf(q: Query): { window: string; windowMs: number } {
  const window = one(q, "window") ?? "5m";
  const windowMs = WINDOWS_MS[window];
  if (windowMs === undefined) throw new AggError("AGG_ERR_BAD_QUERY", `window must be one of ${Object.keys(WINDOWS_MS).join(", ")}`, "window");
  return { window, windowMs };
}

export async function apiRoutes(app: FastifyInstance, opts: { state: AggregatorState }): Promise<void> {
  const { state } = opts;

  app.get("/api/v1/latency", async (req) => {
    const q = req.query as Query;
    const svc = one(q, "destination_service");
    if (!svc) throw new AggError("AGG_ERR_BAD_QUERY", "destination_service is required", "destination_service");
    const { window, windowMs } = windowOf(q);
    const byRaw = one(q, "by");
    const by = byRaw ? byRaw.split(",").map((s) => s.trim()).filter(Boolean) : [];
    for (const b of by) if (b !== "user_tier" && b !== "region") throw new AggError("AGG_ERR_BAD_QUERY", `by accepts user_tier and region, not ${JSON.stringify(b)}`, "by");
    const reporter = one(q, "reporter");
    if (reporter !== undefined && reporter !== "source" && reporter !== "destination") throw new AggError("AGG_ERR_BAD_QUERY", "reporter must be source or destination", "reporter");
    const now = state.now();
    const spanMs = state.windows.spanMs(now, windowMs);
    const groups = latency(state.windows.entries(now, windowMs), {
      destinationService: svc, windowMs: spanMs, by: by as GroupBy[], reporter, minSamples: state.config.min_samples,
    });
    return { destination_service: svc, window, window_seconds: windowMs / 1000, span_seconds: spanMs / 1000, by, min_samples: state.config.min_samples, groups };
  });

  app.get("/api/v1/graph", async (req) => {
    const q = req.query as Query;
    const { window, windowMs } = windowOf(q);
    const namespace = one(q, "namespace") || undefined;
    const now = state.now();
    const spanMs = state.windows.spanMs(now, windowMs);
    const g = graph(state.windows.entries(now, windowMs), { windowMs: spanMs, namespace });
    return { window, window_seconds: windowMs / 1000, span_seconds: spanMs / 1000, namespace: namespace ?? null, ...g };
  });
}
