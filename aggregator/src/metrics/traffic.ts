// The traffic families of DESIGN.md, rendered straight from the store into Buffer chunks (a
// scrape of 50k series is over a GB of text: it is streamed, never built as one string). Each
// series' escaped label bytes are computed once and cached.
import { canonicalFloat, familyHeader, formatValue, labelText } from "./exposition.ts";
import { CLASSIC_LE_MS } from "../store/exp-histogram.ts";
import { ChunkWriter } from "./chunk-writer.ts";
import { bucketOf, openMetricsExemplar } from "./exemplar-format.ts";
import { current } from "../store/exemplars.ts";
import type { SeriesStore, StoredSeries } from "../store/series-store.ts";
import { LABEL_NAMES, TIMING_NAMES } from "../wire/types.ts";

export const REQUESTS_FAMILY = "meshlat_requests_total";
export const REQUESTS_HELP = "Requests seen by meshlat filters.";
export const HISTOGRAM_FAMILIES: readonly string[] = TIMING_NAMES.map((t) => `meshlat_${t}_duration_milliseconds`);
export const HELP: Readonly<Record<string, string>> = {
  request: "Total request time (last response byte - request headers), ms.",
  upstream: "Upstream time (response headers - end of request), ms.",
  proxy: "Time in and around the proxy (request - upstream), ms.",
  app: "Application time from the upstream's Server-Timing, ms.",
  network: "Upstream time not spent in the application (upstream - app, floored at 0), ms.",
};
const LF = 10;

/** Cached bytes of `{name="value",...` for a series (no closing brace). */
const labelBytes = new WeakMap<StoredSeries, Buffer>();
function labelsOf(s: StoredSeries): Buffer {
  let b = labelBytes.get(s);
  if (!b) { b = Buffer.from("{" + labelText(LABEL_NAMES, s.labels)); labelBytes.set(s, b); }
  return b;
}

/**
 * `,le="<bound>"} ` per classic bucket: powers of two in ms, exact boundaries of the stored
 * exponential histograms at every scale they keep, then +Inf. OpenMetrics wants canonical numbers.
 */
const LE_TEXT = [...CLASSIC_LE_MS.map((x) => Buffer.from(`,le="${x}"} `)), Buffer.from(`,le="+Inf"} `)];
const LE_OM = [...CLASSIC_LE_MS.map((x) => Buffer.from(`,le="${canonicalFloat(x)}"} `)), Buffer.from(`,le="+Inf"} `)];
const cum = new Float64Array(CLASSIC_LE_MS.length + 1);

interface Names { bucket: Buffer; sum: Buffer; count: Buffer }
const CLOSE = Buffer.from("} ");

function histogram(w: ChunkWriter, n: Names, lt: Buffer, s: StoredSeries, t: number, om: ExemplarSpan | null): void {
  const h = s.timings[t]!;
  const le = om ? LE_OM : LE_TEXT;
  h.classic(cum);
  // Exemplars exist in OpenMetrics only: on the bucket whose range holds the request's value.
  const ex = om ? current(s.exemplars[t]!, om.nowMs, om.spanMs) : null;
  const exAt = ex ? bucketOf(ex.valueMs) : -1;
  for (let i = 0; i < cum.length; i++) {
    w.bytes(n.bucket); w.bytes(lt); w.bytes(le[i]!); w.uint(cum[i]!);
    if (i === exAt) w.ascii(openMetricsExemplar(ex!));
    w.byte(LF);
  }
  w.bytes(n.sum); w.bytes(lt); w.bytes(CLOSE); w.ascii(formatValue(h.sumUs / 1000)); w.byte(LF);
  w.bytes(n.count); w.bytes(lt); w.bytes(CLOSE); w.uint(h.n); w.byte(LF);
}

/** When exemplars are shown: the scrape's time and how old an exemplar may be (Unix ms, ms). */
export interface ExemplarSpan { readonly nowMs: number; readonly spanMs: number }

/**
 * Yields the traffic families as Buffer chunks (~1 MiB), in family order; `om` is null for the
 * classic text format, else the OpenMetrics scrape's exemplar span.
 */
export function* renderTraffic(store: SeriesStore, om: ExemplarSpan | null): Generator<Buffer> {
  const list = [...store.series.values()]; // snapshot: ingest may run between chunks
  const w = new ChunkWriter();
  w.ascii(familyHeader(REQUESTS_FAMILY, "counter", REQUESTS_HELP, om !== null));
  const req = Buffer.from(REQUESTS_FAMILY);
  for (const s of list) {
    w.bytes(req); w.bytes(labelsOf(s)); w.bytes(CLOSE); w.uint(s.count); w.byte(LF);
    yield* w.take();
  }
  for (let t = 0; t < TIMING_NAMES.length; t++) {
    const name = HISTOGRAM_FAMILIES[t]!;
    const names: Names = { bucket: Buffer.from(`${name}_bucket`), sum: Buffer.from(`${name}_sum`), count: Buffer.from(`${name}_count`) };
    w.ascii(familyHeader(name, "histogram", HELP[TIMING_NAMES[t]!]!, om !== null));
    for (const s of list) {
      if (!s.timings[t]) continue;
      histogram(w, names, labelsOf(s), s, t, om);
      yield* w.take();
    }
  }
  w.flush();
  yield* w.take();
}
