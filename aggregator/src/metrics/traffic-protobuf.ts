// The traffic families as Prometheus protobuf (one delimited MetricFamily each): the counter,
// and the five timings as native histograms, one Metric per series instead of 23 classic lines.
import { HELP, HISTOGRAM_FAMILIES, REQUESTS_FAMILY, REQUESTS_HELP } from "./traffic.ts";
import type { ExemplarSpan } from "./traffic.ts";
import { current } from "../store/exemplars.ts";
import { METRIC_TYPE, encodeFamily, nativeHistogram } from "./protobuf.ts";
import type { LabelPair, ProtoMetric } from "./protobuf.ts";
import type { SeriesStore, StoredSeries } from "../store/series-store.ts";
import { LABEL_NAMES, TIMING_NAMES } from "../wire/types.ts";

/** Label pairs of a series, built once (label values never change for a stored series). */
const pairsCache = new WeakMap<StoredSeries, LabelPair[]>();
function pairsOf(s: StoredSeries): LabelPair[] {
  let p = pairsCache.get(s);
  if (!p) { p = LABEL_NAMES.map((name, i) => ({ name, value: s.labels[i]! })); pairsCache.set(s, p); }
  return p;
}

/** `span`: the scrape's time and exemplar span; without it, no exemplars. */
export function* renderTrafficProtobuf(store: SeriesStore, span?: ExemplarSpan): Generator<Buffer> {
  const list = [...store.series.values()]; // snapshot: ingest may run between families
  const counters: ProtoMetric[] = list.map((s) => ({ label: pairsOf(s), counter: { value: s.count } }));
  yield Buffer.from(encodeFamily({ name: REQUESTS_FAMILY, help: REQUESTS_HELP, type: METRIC_TYPE.counter, metric: counters }));
  for (let t = 0; t < TIMING_NAMES.length; t++) {
    const metric: ProtoMetric[] = [];
    for (const s of list) {
      const h = s.timings[t];
      if (h) metric.push(nativeHistogram(pairsOf(s), h, span ? current(s.exemplars[t]!, span.nowMs, span.spanMs) : null));
    }
    if (metric.length === 0) continue;
    yield Buffer.from(encodeFamily({ name: HISTOGRAM_FAMILIES[t]!, help: HELP[TIMING_NAMES[t]!]!, type: METRIC_TYPE.histogram, metric }));
  }
}
