// Exemplars: per series and timing, the slowest traced request the filters reported recently,
// so a latency bucket can link to one real trace. One slot per series timing (bounded memory):
// a slower exemplar replaces the kept one; a kept one older than the span gives way to any newer
// one, so the exemplar follows the current slowest request rather than the all-time maximum.

export interface Exemplar {
  /** Lower-case hex: 32 digits (W3C / 128-bit B3) or 16 (64-bit B3). */
  readonly traceId: string;
  /** The request's value of this timing, ms. */
  readonly valueMs: number;
  /** Wall-clock time of the request, Unix ms. */
  readonly timeMs: number;
}

export const TRACE_ID = /^(?:[0-9a-f]{16}|[0-9a-f]{32})$/;

/** A trace id as the specs allow it: 16 or 32 lower-case hex digits, not all zero. */
export function isTraceId(s: string): boolean {
  return TRACE_ID.test(s) && !/^0+$/.test(s);
}

/** The exemplar to keep: `next` when it is slower, or when `kept` is older than `spanMs` at `nowMs`. */
export function slowest(kept: Exemplar | null, next: Exemplar, nowMs: number, spanMs: number): Exemplar {
  if (kept === null || next.valueMs > kept.valueMs || kept.timeMs < nowMs - spanMs) return next;
  return kept;
}

/** The kept exemplar while it is within the span, else null (an idle series shows none). */
export function current(kept: Exemplar | null, nowMs: number, spanMs: number): Exemplar | null {
  return kept !== null && kept.timeMs >= nowMs - spanMs ? kept : null;
}

/** Slowest exemplars a window entry and a latency group keep (the latency API's `slowest`). */
export const SLOWEST_KEPT = 5;

/** Inserts `e` into `list` (slowest first) and keeps at most `max`: a bounded top-k, in place. */
export function keepSlowest(list: Exemplar[], e: Exemplar, max = SLOWEST_KEPT): void {
  if (list.length === max && e.valueMs <= list[max - 1]!.valueMs) return;
  let i = list.length;
  while (i > 0 && list[i - 1]!.valueMs < e.valueMs) i--;
  list.splice(i, 0, e);
  if (list.length > max) list.length = max;
}
