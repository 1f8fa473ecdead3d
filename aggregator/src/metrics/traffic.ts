// The traffic families of DESIGN.md, rendered straight from the store in chunks (a scrape of
// 50k series is hundreds of MB of text: it is streamed, never built as one string). Each
// series' escaped label text is computed once and cached on the series.
import { familyHeader, formatValue, labelText } from "./exposition.ts";
import type { SeriesStore, StoredSeries } from "../store/series-store.ts";
import { LABEL_NAMES, TIMING_NAMES } from "../wire/types.ts";

export const REQUESTS_FAMILY = "meshlat_requests_total";
export const HISTOGRAM_FAMILIES: readonly string[] = TIMING_NAMES.map((t) => `meshlat_${t}_duration_milliseconds`);
const HELP: Readonly<Record<string, string>> = {
  request: "Total request time (last response byte - request headers), ms.",
  upstream: "Upstream time (response headers - end of request), ms.",
  proxy: "Time in and around the proxy (request - upstream), ms.",
  app: "Application time from the upstream's Server-Timing, ms.",
  network: "Upstream time not spent in the application (upstream - app, floored at 0), ms.",
};
const SERIES_PER_CHUNK = 500;

function labelsOf(s: StoredSeries): string {
  return (s.labelText ??= labelText(LABEL_NAMES, s.labels));
}

function histogramLines(name: string, lt: string, s: StoredSeries, t: number): string {
  const h = s.timings[t]!;
  const le = h.bounds.le;
  let out = "";
  let cum = 0;
  for (let i = 0; i < h.counts.length; i++) {
    cum += h.counts[i]!;
    out += `${name}_bucket{${lt},le="${le[i]}"} ${cum}\n`;
  }
  return out + `${name}_sum{${lt}} ${formatValue(h.sumUs / 1000)}\n${name}_count{${lt}} ${h.n}\n`;
}

/** Yields the traffic families as text chunks, in family order. */
export function* renderTraffic(store: SeriesStore, om: boolean): Generator<string> {
  const list = [...store.series.values()]; // snapshot: ingest may run between chunks
  let chunk = familyHeader(REQUESTS_FAMILY, "counter", "Requests seen by meshlat filters.", om);
  let k = 0;
  for (const s of list) {
    chunk += `${REQUESTS_FAMILY}{${labelsOf(s)}} ${s.count}\n`;
    if (++k % (SERIES_PER_CHUNK * 10) === 0) { yield chunk; chunk = ""; }
  }
  for (let t = 0; t < TIMING_NAMES.length; t++) {
    const name = HISTOGRAM_FAMILIES[t]!;
    chunk += familyHeader(name, "histogram", HELP[TIMING_NAMES[t]!]!, om);
    k = 0;
    for (const s of list) {
      if (!s.timings[t]) continue;
      chunk += histogramLines(name, labelsOf(s), s, t);
      if (++k % SERIES_PER_CHUNK === 0) { yield chunk; chunk = ""; }
    }
  }
  if (chunk) yield chunk;
}
