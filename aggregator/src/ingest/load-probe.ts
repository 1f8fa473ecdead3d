// Samples, once a second and off the request path, the two signals that say ingest should shed
// load before the process degrades: event-loop delay (p99 over the last second) and V8 heap use
// relative to its limit.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { getHeapStatistics } from "node:v8";

export interface LoadProbe {
  /** Why ingest should shed now, or null. */
  readonly reason: () => string | null;
  readonly stop: () => void;
}

export function startLoadProbe(opts: { eventLoopDelayMs: number; heapPercent: number }): LoadProbe {
  if (opts.eventLoopDelayMs <= 0 && opts.heapPercent <= 0) return { reason: () => null, stop: () => {} };
  const h = monitorEventLoopDelay({ resolution: 20 });
  h.enable();
  let reason: string | null = null;
  const timer = setInterval(() => {
    const lagMs = h.percentile(99) / 1e6;
    h.reset();
    const heap = getHeapStatistics();
    const heapPct = (100 * heap.used_heap_size) / heap.heap_size_limit;
    if (opts.eventLoopDelayMs > 0 && lagMs > opts.eventLoopDelayMs) reason = `event loop delay p99 ${lagMs.toFixed(0)} ms above shed_event_loop_delay_ms=${opts.eventLoopDelayMs}`;
    else if (opts.heapPercent > 0 && heapPct > opts.heapPercent) reason = `heap ${heapPct.toFixed(0)}% of its limit, above shed_heap_percent=${opts.heapPercent}`;
    else reason = null;
  }, 1000);
  timer.unref();
  return { reason: () => reason, stop: () => { clearInterval(timer); h.disable(); } };
}
