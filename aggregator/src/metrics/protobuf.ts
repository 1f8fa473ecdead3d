// Prometheus protobuf exposition (delimited io.prometheus.client.MetricFamily messages), encoded
// by protobufjs from the official schema (aggregator/proto/metrics.proto, client_model v0.3.0,
// loaded through its descriptor metrics.json so that it bundles with the service): the traffic
// histograms as native histograms, the self-metrics as prom-client has them.
import protobuf from "protobufjs";
import descriptor from "../../proto/metrics.json" with { type: "json" };
import type { MetricObjectWithValues, MetricValue } from "prom-client";
import { CLASSIC_LE_EXP, CLASSIC_LE_MS } from "../store/exp-histogram.ts";
import type { ExpHist } from "../store/exp-histogram.ts";
import type { Exemplar } from "../store/exemplars.ts";
import { bucketOf, protoExemplar } from "./exemplar-format.ts";
import type { ProtoExemplar } from "./exemplar-format.ts";

export const PROTOBUF_CONTENT_TYPE = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

const root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
export const MetricFamily = root.lookupType("io.prometheus.client.MetricFamily");
export const Metric = root.lookupType("io.prometheus.client.Metric");

/** io.prometheus.client.MetricType */
const TYPE = { counter: 0, gauge: 1, histogram: 4 } as const;

/**
 * The key (field number and wire type 2) that precedes each embedded message of a repeated
 * message field, read from the schema: what the generated encoder writes before fork().
 */
function messageFieldKey(type: protobuf.Type, field: string): number {
  const f = type.fields[field];
  if (!f?.repeated || !(f.resolve().resolvedType instanceof protobuf.Type)) throw new Error(`${type.name}.${field} is not a repeated message field`);
  return (f.id << 3) | 2;
}
/** MetricFamily.metric */
export const METRIC_KEY = messageFieldKey(MetricFamily, "metric");

/**
 * Breadth of the zero bucket (ms). It holds the exact zeros (values are whole µs, so nothing
 * lies between 0 and 1 µs); client_golang's default (2^-128), so that merging with other native
 * histograms never widens it over real buckets. Non-zero, which also marks an empty histogram as
 * native for Prometheus 2.42's parser (it looks for a zero threshold, zero count or spans).
 */
export const ZERO_THRESHOLD = 2 ** -128;

/** Empty buckets bridged inside one span rather than starting a new one (as client_golang does). */
const MAX_GAP = 2;

export interface Span { offset: number; length: number }
export interface NativeFields {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  positiveSpan: Span[];
  positiveDelta: number[];
}

/** Histogram message fields, in an object that a scrape reuses for every series. */
export interface HistogramFields extends NativeFields {
  sampleCount: number;
  sampleSum: number;
  bucket: { cumulativeCount: number; upperBound: number; exemplar: ProtoExemplar }[];
}

export function histogramFields(): HistogramFields {
  return { sampleCount: 0, sampleSum: 0, schema: 0, zeroThreshold: ZERO_THRESHOLD, zeroCount: 0, positiveSpan: [], positiveDelta: [], bucket: [] };
}

/**
 * Writes the native-histogram fields of an ExpHist into `f` (spans over the occupied buckets,
 * counts as deltas), reusing its span objects and arrays: no allocation per bucket or series.
 */
export function fillNative(h: ExpHist, f: NativeFields): void {
  const spans = f.positiveSpan, deltas = f.positiveDelta;
  let ns = 0, nd = 0;
  let prevCount = 0;
  let spanEnd = 0; // index after the current span's last bucket
  const counts = h.counts;
  for (let j = 0; j < h.len; j++) {
    const c = counts[j]!;
    if (c === 0) continue;
    const i = h.offset + j;
    const gap = i - spanEnd;
    if (ns > 0 && gap <= MAX_GAP) {
      for (let g = 0; g < gap; g++) { deltas[nd++] = -prevCount; prevCount = 0; }
      spans[ns - 1]!.length += gap + 1;
    } else {
      const s = spans[ns] ??= { offset: 0, length: 0 };
      s.offset = ns === 0 ? i : gap;
      s.length = 1;
      ns++;
    }
    deltas[nd++] = c - prevCount;
    prevCount = c;
    spanEnd = i + 1;
  }
  spans.length = ns;
  deltas.length = nd;
  f.schema = h.scale;
  f.zeroThreshold = ZERO_THRESHOLD;
  f.zeroCount = h.zero;
}

/** The native-histogram fields of an ExpHist in fresh objects. */
export function nativeFields(h: ExpHist): NativeFields {
  const f: NativeFields = { schema: 0, zeroThreshold: ZERO_THRESHOLD, zeroCount: 0, positiveSpan: [], positiveDelta: [] };
  fillNative(h, f);
  return f;
}

/**
 * Fills `f` with a native histogram (sum in ms: the metric's unit). An exemplar rides on the one
 * classic Bucket whose range holds its value: client_model v0.3.0 has no exemplar field for
 * native histograms, and Prometheus' protobuf parser reads a native histogram's exemplars from
 * its buckets (model/textparse/protobufparse.go, Exemplar).
 */
export function fillHistogram(f: HistogramFields, h: ExpHist, ex: Exemplar | null): void {
  f.sampleCount = h.n;
  f.sampleSum = h.sumUs / 1000;
  fillNative(h, f);
  if (ex) {
    const i = bucketOf(ex.valueMs);
    const inf = i === CLASSIC_LE_MS.length;
    f.bucket = [{ cumulativeCount: inf ? h.total() : h.cumulativeAtPow2(CLASSIC_LE_EXP[i]!), upperBound: inf ? Infinity : CLASSIC_LE_MS[i]!, exemplar: protoExemplar(ex) }];
  } else if (f.bucket.length) {
    f.bucket = [];
  }
}

export interface LabelPair { name: string; value: string }
export interface ProtoMetric {
  label: LabelPair[];
  counter?: { value: number };
  gauge?: { value: number };
  histogram?: object;
}
export interface ProtoFamily { name: string; help: string; type: number; metric: ProtoMetric[] }

export function encodeFamily(f: ProtoFamily): Uint8Array {
  return MetricFamily.encodeDelimited(f).finish();
}

/** A native histogram Metric message in fresh objects (what the scrape's reused objects must encode to). */
export function nativeHistogram(label: LabelPair[], h: ExpHist, ex: Exemplar | null = null): ProtoMetric {
  const f = histogramFields();
  fillHistogram(f, h, ex);
  const { bucket, ...rest } = f;
  return { label, histogram: bucket.length ? f : rest };
}

/** Decodes a delimited stream back into plain objects (tests, and a check in the benchmarks). */
export function decodeFamilies(buf: Uint8Array): Record<string, unknown>[] {
  const r = protobuf.Reader.create(buf);
  const out: Record<string, unknown>[] = [];
  while (r.pos < r.len) {
    const m = MetricFamily.decodeDelimited(r);
    out.push(MetricFamily.toObject(m, { longs: Number, enums: String, defaults: false }));
  }
  return out;
}

/** prom-client's getMetricsAsJSON() output as MetricFamily messages (classic histograms). */
export function promClientFamilies(metrics: readonly MetricObjectWithValues<MetricValue<string>>[]): ProtoFamily[] {
  const out: ProtoFamily[] = [];
  for (const m of metrics) {
    const type = m.type as unknown as string;
    if (type === "counter" || type === "gauge") {
      out.push({
        name: m.name, help: m.help, type: TYPE[type],
        metric: m.values.map((v) => ({ label: pairs(v.labels), [type]: { value: v.value } })),
      });
    } else if (type === "histogram") {
      // prom-client lists _bucket{le} values, then _sum and _count, per label set.
      const byKey = new Map<string, { label: LabelPair[]; histogram: { sampleCount: number; sampleSum: number; bucket: { cumulativeCount: number; upperBound: number }[] } }>();
      for (const v of m.values) {
        const { le, ...rest } = (v.labels ?? {}) as Record<string, string | number>;
        const label = pairs(rest);
        const key = JSON.stringify(label);
        let e = byKey.get(key);
        if (!e) { e = { label, histogram: { sampleCount: 0, sampleSum: 0, bucket: [] } }; byKey.set(key, e); }
        const name = (v as { metricName?: string }).metricName ?? m.name;
        if (name.endsWith("_bucket")) {
          // The +Inf bucket is implied by sample_count (metrics.proto: "+Inf bucket is optional").
          if (le !== "+Inf" && le !== Infinity) e.histogram.bucket.push({ cumulativeCount: v.value, upperBound: Number(le) });
        } else if (name.endsWith("_sum")) e.histogram.sampleSum = v.value;
        else if (name.endsWith("_count")) e.histogram.sampleCount = v.value;
      }
      out.push({ name: m.name, help: m.help, type: TYPE.histogram, metric: [...byKey.values()] });
    }
  }
  return out;
}

function pairs(labels: Partial<Record<string, string | number>> | undefined): LabelPair[] {
  return Object.entries(labels ?? {}).map(([name, value]) => ({ name, value: String(value ?? "") }));
}

export { TYPE as METRIC_TYPE };
