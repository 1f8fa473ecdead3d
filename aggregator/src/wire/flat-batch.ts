// A validated v2 batch held flat: per series and timing, numbers in typed arrays, and per
// timing only its occupied buckets (index, count) in one shared pool. The single-pass reader
// (read-v2.ts) fills one reused instance, so reading a batch makes no object per series or
// timing; the store merges straight from it (series-store.ts mergeFlat). Valid until the next
// read: the caller merges it (synchronously) before reading another body.
import { LABEL_NAMES, TIMING_NAMES } from "./types.ts";
import type { CounterKey } from "./types.ts";

export const NL = LABEL_NAMES.length;
export const NT = TIMING_NAMES.length;

/**
 * A value read from a Float64Array, as a small integer when it is one. Added into an object's
 * field, a double makes V8 box that field (a 16-byte heap number per field, ~480 B per label
 * set over a series' and its window entry's histograms); a small integer keeps it in place.
 */
export const smallInt = (v: number): number => (v <= 0x3fffffff ? v | 0 : v);

/** Scratch kept whatever the batches: series, strings, and buckets in the pool (~1 MB together). */
const KEEP_SERIES = 2048;
const KEEP_STRINGS = 8192;
const KEEP_BUCKETS = 1 << 16;

export class FlatBatch {
  readonly v = 2 as const;
  proxy = { id: "", workload: "", namespace: "", region: "" };
  vm = "";
  seq = 0;
  window: readonly [number, number] = [0, 0];
  counters = {} as Readonly<Record<CounterKey, number>>;
  /**
   * The batch's string table, as byte ranges of `body` (ASCII, checked): labels are indices into
   * it. The store interns a value from its bytes (store/label-ids.ts), so a value it already
   * holds is never made into a string again; string() makes one when needed (a new series).
   */
  body: Buffer = Buffer.alloc(0);
  nStrings = 0;
  strStart = new Int32Array(0);
  strEnd = new Int32Array(0);
  /** Series in the batch. */
  n = 0;
  /** Per series (s·NL + label): its value's index in `strings` (the label tuple resolved). */
  lab = new Int32Array(0);
  count = new Float64Array(0);
  /** Per series: bit t set when timing t is present. */
  tmask = new Uint8Array(0);
  /** Per series timing (s·NT + t), when present: */
  tn = new Float64Array(0);
  tsum = new Float64Array(0);
  tzero = new Float64Array(0);
  tscale = new Uint8Array(0);
  /** Bucket range offset..offset+len-1 (len 0: no bucket beyond the zero bucket). */
  toff = new Int32Array(0);
  tlen = new Int32Array(0);
  /** Its occupied buckets: pool entries [b0, b1). */
  tb0 = new Int32Array(0);
  tb1 = new Int32Array(0);
  /** The bucket pool: absolute bucket index and count of each occupied bucket; `nb` in use. */
  bIdx = new Int32Array(0);
  bCnt = new Float64Array(0);
  nb = 0;
  /** Per series: its exemplar's trace id (null: none), value (µs) and time (Unix ms). */
  exTrace: (string | null)[] = [];
  exValue = new Float64Array(0);
  exTime = new Float64Array(0);

  /** String-table entry i as a string. */
  string(i: number): string {
    return this.body.toString("latin1", this.strStart[i]!, this.strEnd[i]!);
  }

  /** Room for a string table of `n` entries. */
  reserveStrings(n: number): void {
    this.nStrings = n;
    if (this.strStart.length >= n && this.strStart.length <= Math.max(KEEP_STRINGS, 4 * n)) return;
    const cap = this.strStart.length >= n ? Math.max(n, 256) : Math.max(n, 2 * this.strStart.length, 256);
    this.strStart = new Int32Array(cap);
    this.strEnd = new Int32Array(cap);
  }

  /**
   * Room for `n` series; resets the bucket pool. Room one outsized batch needed is given back
   * when batches are back to a quarter of it, so a single huge (or hostile) batch does not keep
   * its scratch for good.
   */
  reset(n: number): void {
    if (this.bIdx.length > Math.max(KEEP_BUCKETS, 4 * this.nb)) {
      this.bIdx = new Int32Array(Math.max(1024, this.nb));
      this.bCnt = new Float64Array(this.bIdx.length);
    }
    this.n = n;
    this.nb = 0;
    if (this.count.length >= n && this.count.length <= Math.max(KEEP_SERIES, 4 * n)) return;
    const cap = this.count.length >= n ? Math.max(n, 64) : Math.max(n, 2 * this.count.length, 64);
    this.lab = new Int32Array(cap * NL);
    this.count = new Float64Array(cap);
    this.tmask = new Uint8Array(cap);
    this.tn = new Float64Array(cap * NT);
    this.tsum = new Float64Array(cap * NT);
    this.tzero = new Float64Array(cap * NT);
    this.tscale = new Uint8Array(cap * NT);
    this.toff = new Int32Array(cap * NT);
    this.tlen = new Int32Array(cap * NT);
    this.tb0 = new Int32Array(cap * NT);
    this.tb1 = new Int32Array(cap * NT);
    this.exTrace = new Array<string | null>(cap).fill(null);
    this.exValue = new Float64Array(cap);
    this.exTime = new Float64Array(cap);
  }

  /** Room in the bucket pool for `k` more buckets. */
  reserveBuckets(k: number): void {
    const need = this.nb + k;
    if (need <= this.bIdx.length) return;
    const cap = Math.max(need, 2 * this.bIdx.length, 1024);
    const idx = new Int32Array(cap), cnt = new Float64Array(cap);
    idx.set(this.bIdx.subarray(0, this.nb));
    cnt.set(this.bCnt.subarray(0, this.nb));
    this.bIdx = idx;
    this.bCnt = cnt;
  }
}
