// The validated shape of a wire-format v1 or v2 batch (docs/wire-format.md). Everything downstream of
// validateBatch() may rely on these invariants without re-checking.

/** v1 label names, in the order series use them. */
export const LABEL_NAMES = [
  "reporter", "source_workload", "source_namespace", "destination_service", "response_code",
  "response_flags", "connection_security_policy", "user_tier", "region", "peer_region",
] as const;
export type LabelName = (typeof LABEL_NAMES)[number];
export const L = Object.freeze(Object.fromEntries(LABEL_NAMES.map((n, i) => [n, i]))) as Readonly<Record<LabelName, number>>;

/** Timing order inside a series. */
export const TIMING_NAMES = ["request", "upstream", "proxy", "app", "network"] as const;
export type TimingName = (typeof TIMING_NAMES)[number];

export const COUNTER_KEYS = ["requests", "folded_requests", "dropped_batches", "failed_flushes"] as const;
export type CounterKey = (typeof COUNTER_KEYS)[number];

export interface Timing {
  readonly n: number;
  readonly sumUs: number;
  /** Sparse, non-cumulative: [index, count, index, count, ...], indices strictly increasing; index bounds.length = +Inf. */
  readonly buckets: readonly number[];
}

/** v2: a base-2 exponential histogram (Prometheus native convention, values in ms). */
export interface ExpTiming {
  readonly n: number;
  readonly sumUs: number;
  readonly scale: number;
  /** Observations of exactly 0 µs. */
  readonly zero: number;
  /** Bucket index of counts[0]: bucket i holds 2^((i-1)/2^scale) < v ≤ 2^(i/2^scale) ms. */
  readonly offset: number;
  readonly counts: readonly number[];
}

/** v2: the series' slowest traced request in the window (docs/wire-format.md, "Exemplar"). */
export interface WireExemplar {
  /** Lower-case hex, 16 or 32 digits, not all zero. */
  readonly traceId: string;
  /** The request's total time, µs. */
  readonly valueUs: number;
  /** Wall-clock time of the request, Unix ms. */
  readonly timeMs: number;
}

export interface WireSeries {
  /** Label values (already resolved through the string table), in LABEL_NAMES order. */
  readonly labels: readonly string[];
  readonly count: number;
  /** v1 batches carry Timing, v2 batches ExpTiming. */
  readonly timings: readonly (Timing | ExpTiming | null)[];
  /** v2 only, optional. */
  readonly exemplar?: WireExemplar;
}

/** What every batch form (Batch, wire/flat-batch.ts FlatBatch) carries besides its series. */
export interface BatchHead {
  readonly v: 1 | 2;
  readonly proxy: { readonly id: string; readonly workload: string; readonly namespace: string; readonly region: string };
  readonly vm: string;
  readonly seq: number;
  readonly window: readonly [number, number];
  readonly counters: Readonly<Record<CounterKey, number>>;
}

export interface Batch extends BatchHead {
  /** v1 only (empty in v2). */
  readonly boundsUs: readonly number[];
  readonly series: readonly WireSeries[];
}

export interface WireLimits {
  readonly maxSeries: number;
  readonly maxStrings: number;
  readonly maxBounds: number;
  readonly maxLabelLength: number;
  /** v2: most buckets one timing may carry. */
  readonly maxTimingBuckets: number;
}

export const isExpTiming = (t: Timing | ExpTiming): t is ExpTiming => (t as ExpTiming).scale !== undefined;
