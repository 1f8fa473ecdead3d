// What a view costs when it is answered from Prometheus (`prometheus_url`): the API call's wall
// time and response size, and — from Prometheus' own /metrics, read before and after the call —
// how many PromQL queries it issued and how long Prometheus' engine spent on them. Nothing else
// may query that Prometheus meanwhile (the fleet simulator measures after its traffic stopped).

/** Prometheus' engine counters: queries run, seconds spent preparing and evaluating them; its process CPU seconds. */
export interface EngineCounters { queries: number; seconds: number; cpuS: number }

const ENGINE = /^prometheus_engine_query_duration_seconds_(sum|count)\{slice="([a-z_]+)"\} (\S+)$/;

/**
 * From Prometheus' exposition text: `queries` counts inner_eval (every evaluated query, instant or
 * range), `seconds` adds prepare_time and inner_eval (promql/engine.go's query timers, v2.42), not
 * queue_time: queries sent at once wait for the engine's concurrency gate, which would count twice.
 */
export function engineCounters(text: string): EngineCounters {
  let queries = 0, seconds = 0, cpuS = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("process_cpu_seconds_total ")) cpuS = Number(line.slice("process_cpu_seconds_total ".length));
    const m = ENGINE.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    if (m[1] === "sum" && (m[2] === "prepare_time" || m[2] === "inner_eval")) seconds += v;
    else if (m[2] === "inner_eval") queries += v;
  }
  return { queries, seconds, cpuS };
}

async function engine(promUrl: string): Promise<EngineCounters> {
  const res = await fetch(`${promUrl}/metrics`);
  if (!res.ok) throw new Error(`prometheus /metrics: ${res.status}`);
  return engineCounters(await res.text());
}

/** `promMs`: the queries' engine times added up (they run at once); `promCpuMs`: Prometheus' process CPU meanwhile. */
export interface ViewCost { view: string; wallMs: number; queries: number; promMs: number; promCpuMs: number; bytes: number; error?: string }

/**
 * Calls `path` on `viewUrl` `rounds` times (after one unmeasured call that warms the view
 * process up); wall time, Prometheus' engine time and CPU are the median of the rounds, the query
 * count the most any round issued. A view that fails (e.g. 502 when a query outlasts the
 * aggregator's Prometheus timeout) is reported with its error and the time it took to fail.
 */
export async function measureView(viewUrl: string, promUrl: string, view: string, path: string, rounds = 3): Promise<ViewCost> {
  let error: string | undefined;
  const call = async () => {
    const res = await fetch(viewUrl + path);
    const body = await res.text();
    if (res.status !== 200) error = `${res.status} ${body.slice(0, 200)}`;
    return Buffer.byteLength(body);
  };
  await call();
  const walls: number[] = [], proms: number[] = [], cpus: number[] = [];
  let queries = 0, bytes = 0;
  for (let i = 0; i < rounds; i++) {
    const before = await engine(promUrl);
    const t0 = performance.now();
    bytes = await call();
    walls.push(performance.now() - t0);
    const after = await engine(promUrl);
    queries = Math.max(queries, after.queries - before.queries);
    proms.push((after.seconds - before.seconds) * 1000);
    cpus.push((after.cpuS - before.cpuS) * 1000);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { view, wallMs: median(walls), queries, promMs: median(proms), promCpuMs: median(cpus), bytes, ...(error ? { error } : {}) };
}
