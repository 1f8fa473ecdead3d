// The traffic families as Prometheus protobuf (one delimited MetricFamily each): the counter,
// and the five timings as native histograms, one Metric per series instead of 23 classic lines.
// A scrape of 10k label sets is 60k Metric messages, so the encoding avoids per-series work that
// does not change: every family goes through one protobufjs Writer, each series' labels are
// encoded once (label values never change for a stored series) and copied in as bytes, and one
// set of message objects is refilled for every series instead of building fresh ones.
import protobuf from "protobufjs";
import { HELP, HISTOGRAM_FAMILIES, REQUESTS_FAMILY, REQUESTS_HELP } from "./traffic.ts";
import type { ExemplarSpan } from "./traffic.ts";
import { current } from "../store/exemplars.ts";
import { METRIC_KEY, METRIC_TYPE, Metric, MetricFamily, fillHistogram, histogramFields } from "./protobuf.ts";
import type { SeriesStore, StoredSeries } from "../store/series-store.ts";
import { LABEL_NAMES, TIMING_NAMES } from "../wire/types.ts";

/**
 * A series' `label` fields as protobufjs encodes them at the start of a Metric message, built
 * once. A message's encoding is the concatenation of its fields' encodings, so these bytes
 * followed by the encoding of the other fields are exactly the encoding of the whole Metric.
 */
const labelCache = new WeakMap<StoredSeries, Uint8Array>();
export function labelBytes(s: StoredSeries): Uint8Array {
  let b = labelCache.get(s);
  if (!b) {
    b = Metric.encode({ label: LABEL_NAMES.map((name, i) => ({ name, value: s.labels[i]! })) }).finish();
    labelCache.set(s, b);
  }
  return b;
}

/** Starts a delimited MetricFamily with its name, help and type; the metrics follow. */
function beginFamily(w: protobuf.Writer, name: string, help: string, type: number): void {
  w.reset();
  w.fork();
  MetricFamily.encode({ name, help, type }, w);
}

/** Appends one Metric: the series' label fields, then `rest` (the value fields). */
function appendMetric(w: protobuf.Writer, labels: Uint8Array, rest: object): void {
  w.uint32(METRIC_KEY).fork();
  w.raw(labels);
  Metric.encode(rest, w);
  w.ldelim();
}

function endFamily(w: protobuf.Writer): Buffer {
  w.ldelim();
  return w.finish() as Buffer;
}

/** `span`: the scrape's time and exemplar span; without it, no exemplars. */
export function* renderTrafficProtobuf(store: SeriesStore, span?: ExemplarSpan): Generator<Buffer> {
  const list = [...store.series.values()]; // snapshot: ingest may run between families
  const labels = list.map(labelBytes);
  const w = protobuf.Writer.create();
  beginFamily(w, REQUESTS_FAMILY, REQUESTS_HELP, METRIC_TYPE.counter);
  const counter = { value: 0 };
  const counterMetric = { counter };
  for (let k = 0; k < list.length; k++) {
    counter.value = list[k]!.count;
    appendMetric(w, labels[k]!, counterMetric);
  }
  yield endFamily(w);
  const histogram = histogramFields();
  const histogramMetric = { histogram };
  for (let t = 0; t < TIMING_NAMES.length; t++) {
    let any = false;
    for (let k = 0; k < list.length; k++) {
      const s = list[k]!, h = s.timings[t];
      if (!h) continue;
      if (!any) { beginFamily(w, HISTOGRAM_FAMILIES[t]!, HELP[TIMING_NAMES[t]!]!, METRIC_TYPE.histogram); any = true; }
      fillHistogram(histogram, h, span ? current(s.exemplars[t]!, span.nowMs, span.spanMs) : null);
      appendMetric(w, labels[k]!, histogramMetric);
    }
    if (any) yield endFamily(w);
  }
}
