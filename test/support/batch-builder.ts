// The reference encoder of wire formats v1 and v2 (docs/wire-format.md): builds batches from readable
// series objects, byte for byte the way the filter encodes them (string table, sparse
// non-cumulative buckets, integer µs sums, cumulative counters, smallest unsigned integer
// encodings, uint64 for Unix ms). aggregator/test/wire-example.test.ts checks its bytes against
// the filter's worked example. Used by the aggregator tests, the manifests' exposition test,
// the benchmarks and aggregator/scripts/measure.ts.
import { encodeMsgpack } from "./msgpack-encode.ts";
import { randomBytes } from "node:crypto";
import { LABEL_NAMES, TIMING_NAMES } from "../../aggregator/src/wire/types.ts";
import { ExpHist, observeUs } from "../../aggregator/src/store/exp-histogram.ts";
import type { CounterKey, LabelName, TimingName } from "../../aggregator/src/wire/types.ts";

export { LABEL_NAMES, TIMING_NAMES };
export type Labels = Record<LabelName, string>;

/** Wire v1's bounds (µs, what v1 filters sent): 25 µs … 60 s. Tests may pass their own. */
export const DEFAULT_BOUNDS_US: readonly number[] = [
  25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
  2500000, 5000000, 10000000, 30000000, 60000000,
];

export const DEFAULT_LABELS: Readonly<Labels> = Object.freeze({
  reporter: "source",
  source_workload: "frontend",
  source_namespace: "shop",
  destination_service: "checkout.shop.svc.cluster.local",
  response_code: "200",
  response_flags: "-",
  connection_security_policy: "unknown",
  user_tier: "free",
  region: "eu-west-1",
  peer_region: "eu-west-1",
});

/** Raw timing as on the wire: n, sum in µs, sparse [index, count, ...]. */
export interface RawTiming { n: number; sumUs: number; buckets: number[] }
/** Raw v2 timing as on the wire: n, sum in µs, scale, zero count, offset, consecutive counts. */
export interface RawExpTiming { n: number; sumUs: number; scale: number; zero: number; offset: number; counts: number[] }
/** Observed values in milliseconds, or a raw timing (v1 or v2, matching the batch's version). */
export type TimingInput = readonly number[] | RawTiming | RawExpTiming;

/** Buckets per timing in the filter's window, and the scale a window starts at (filter/assembly/exphist.ts BUCKETS, FIRST_SCALE). */
export const FILTER_BUCKETS = 86;
export const FILTER_FIRST_SCALE = 3;

/**
 * Observed values (ms) → raw v2 timing, as the filter folds them: values rounded to whole µs,
 * recorded from the filter's first scale down as the window's range demands, FILTER_BUCKETS buckets,
 * counts trimmed to the first and last occupied bucket.
 */
export function expTimingOf(valuesMs: readonly number[], buckets = FILTER_BUCKETS): RawExpTiming {
  const h = new ExpHist(buckets, FILTER_FIRST_SCALE);
  for (const ms of valuesMs) observeUs(h, Math.round(ms * 1000));
  let lo = 0, hi = h.len;
  while (lo < hi && h.counts[lo] === 0) lo++;
  while (hi > lo && h.counts[hi - 1] === 0) hi--;
  return { n: h.n, sumUs: h.sumUs, scale: h.scale, zero: h.zero, offset: h.offset + lo, counts: h.counts.slice(lo, hi) };
}

export interface SeriesInput {
  labels?: Partial<Labels>;
  /** Requests in this series; defaults to the request timing's n. */
  count?: number;
  timings?: Partial<Record<TimingName, TimingInput>>;
  /** v2: the series' exemplar (trace id as hex, sent as bin). */
  exemplar?: { traceId: string; valueUs: number; timeMs: number };
}

export interface BatchInput {
  v?: number;
  proxy?: Partial<{ id: string; workload: string; namespace: string; region: string }>;
  vm?: string;
  seq?: number;
  /** [start_ms, end_ms] wall-clock Unix ms; default [now-1000, now]. */
  window?: [number, number];
  boundsUs?: readonly number[];
  series?: SeriesInput[];
  counters?: Partial<Record<CounterKey, number>>;
}

export function randomVmId(): string {
  return randomBytes(8).toString("hex");
}

/** Observed values (ms) → raw timing against `boundsUs`, exactly as the filter folds them. */
export function timingOf(valuesMs: readonly number[], boundsUs: readonly number[] = DEFAULT_BOUNDS_US): RawTiming {
  const counts = new Array<number>(boundsUs.length + 1).fill(0);
  let sumUs = 0;
  for (const ms of valuesMs) {
    const us = Math.round(ms * 1000);
    sumUs += us;
    let i = 0;
    while (i < boundsUs.length && us > boundsUs[i]!) i++;
    counts[i]!++;
  }
  const buckets: number[] = [];
  counts.forEach((c, i) => { if (c > 0) buckets.push(i, c); });
  return { n: valuesMs.length, sumUs, buckets };
}

/**
 * `count` requests that each took `requestMs` in total, `upstreamMs` upstream and (when given)
 * `appMs` by Server-Timing; proxy and network are derived as the filter derives them.
 */
export function requests(count: number, t: { requestMs: number; upstreamMs?: number; appMs?: number }, labels?: Partial<Labels>): SeriesInput {
  const rep = (v: number) => new Array<number>(count).fill(v);
  const timings: Partial<Record<TimingName, TimingInput>> = { request: rep(t.requestMs) };
  if (t.upstreamMs !== undefined) {
    timings.upstream = rep(t.upstreamMs);
    timings.proxy = rep(t.requestMs - t.upstreamMs);
    if (t.appMs !== undefined) {
      timings.app = rep(t.appMs);
      timings.network = rep(Math.max(0, t.upstreamMs - t.appMs));
    }
  }
  return { labels, count, timings };
}

/** The batch's string table: each distinct string once, in first-use order; intern returns its index. */
function stringTable(): { strings: string[]; intern: (s: string) => number } {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const intern = (s: string) => {
    let i = index.get(s);
    if (i === undefined) { i = strings.length; strings.push(s); index.set(s, i); }
    return i;
  };
  return { strings, intern };
}

/** The batch as a plain object (the MessagePack map before encoding); mutate it for negative tests. */
export function batchValue(input: BatchInput = {}): Record<string, unknown> {
  if (input.v === 2) return batchValueV2(input);
  const bounds = input.boundsUs ?? DEFAULT_BOUNDS_US;
  const { strings, intern } = stringTable();
  const series = (input.series ?? []).map((s) => {
    const labels = { ...DEFAULT_LABELS, ...s.labels };
    const timings = TIMING_NAMES.map((name) => {
      const t = s.timings?.[name];
      if (t === undefined) return null;
      const raw = Array.isArray(t) ? timingOf(t as number[], bounds) : (t as RawTiming);
      return [raw.n, raw.sumUs, raw.buckets];
    });
    const req = s.timings?.request;
    const count = s.count ?? (req === undefined ? 0 : Array.isArray(req) ? req.length : (req as RawTiming).n);
    return [LABEL_NAMES.map((n) => intern(labels[n])), count, timings];
  });
  const now = Date.now();
  const proxy = { id: "sidecar~10.0.0.1~frontend-1.shop~shop.svc.cluster.local", workload: "frontend", namespace: "shop", region: "eu-west-1", ...input.proxy };
  return {
    v: input.v ?? 1,
    proxy,
    vm: input.vm ?? randomVmId(),
    seq: input.seq ?? 1,
    window: input.window ?? [now - 1000, now],
    bounds_us: [...bounds],
    labels: [...LABEL_NAMES],
    strings,
    series,
    counters: { requests: 0, folded_requests: 0, dropped_batches: 0, failed_flushes: 0, ...input.counters },
  };
}

export function encodeBatch(value: unknown): Uint8Array {
  return encodeMsgpack(value);
}

export function buildBatch(input: BatchInput = {}): Uint8Array {
  return encodeBatch(batchValue(input));
}

const isRaw = (t: TimingInput): t is RawTiming | RawExpTiming => !Array.isArray(t);

/** Unsigned LEB128. */
function varint(out: number[], v: number): void {
  while (v >= 0x80) { out.push((v % 0x80) | 0x80); v = Math.floor(v / 0x80); }
  out.push(v);
}

/**
 * A v2 series' timings bin (docs/wire-format.md "The timings"): the presence mask, then per
 * present timing sum_us, scale, zero, zigzag offset, bucket count (varints; scale one byte) and
 * one byte per occupied bucket, high nibble the empty buckets skipped before it, low nibble its
 * count - 1, either nibble 15 followed by a varint of the rest.
 */
export function packTimings(timings: readonly (RawExpTiming | null)[]): Uint8Array {
  const out: number[] = [0];
  timings.forEach((t, i) => {
    if (t === null) return;
    out[0]! |= 1 << i;
    varint(out, t.sumUs);
    out.push(t.scale);
    varint(out, t.zero);
    varint(out, t.offset >= 0 ? 2 * t.offset : -2 * t.offset - 1);
    varint(out, t.counts.length);
    let gap = 0;
    for (const c of t.counts) {
      if (c === 0) { gap++; continue; }
      out.push((Math.min(gap, 15) << 4) | Math.min(c - 1, 15));
      if (gap >= 15) varint(out, gap - 15);
      if (c - 1 >= 15) varint(out, c - 16);
      gap = 0;
    }
  });
  return Uint8Array.from(out);
}

/**
 * Wire v2 (docs/wire-format.md): label tuples as [mask, changed indices...] against the previous
 * series, the timings' exponential histograms packed in one bin.
 */
function batchValueV2(input: BatchInput): Record<string, unknown> {
  const { strings, intern } = stringTable();
  let prev: number[] | null = null;
  const series = (input.series ?? []).map((s) => {
    const labels = { ...DEFAULT_LABELS, ...s.labels };
    const ids = LABEL_NAMES.map((n) => intern(labels[n]));
    let mask = 0;
    const changed: number[] = [];
    ids.forEach((id, i) => { if (!prev || prev[i] !== id) { mask |= 1 << i; changed.push(id); } });
    prev = ids;
    const timings = TIMING_NAMES.map((name) => {
      const v = s.timings?.[name];
      return v === undefined ? null : isRaw(v) ? (v as RawExpTiming) : expTimingOf(v);
    });
    const req = s.timings?.request;
    const count = s.count ?? (req === undefined ? 0 : isRaw(req) ? req.n : req.length);
    const row: unknown[] = [[mask, ...changed], count, packTimings(timings)];
    if (s.exemplar) row.push([Buffer.from(s.exemplar.traceId, "hex"), s.exemplar.valueUs, s.exemplar.timeMs]);
    return row;
  });
  const now = Date.now();
  const proxy = { id: "sidecar~10.0.0.1~frontend-1.shop~shop.svc.cluster.local", workload: "frontend", namespace: "shop", region: "eu-west-1", ...input.proxy };
  return {
    v: 2,
    proxy,
    vm: input.vm ?? randomVmId(),
    seq: input.seq ?? 1,
    window: input.window ?? [now - 1000, now],
    labels: [...LABEL_NAMES],
    strings,
    series,
    counters: { requests: 0, folded_requests: 0, dropped_batches: 0, failed_flushes: 0, ...input.counters },
  };
}
