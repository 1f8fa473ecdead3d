// One timing of one series as a base-2 exponential histogram (wire v2, docs/wire-format.md),
// in the Prometheus native-histogram convention: at scale s, bucket i holds values v (ms) with
// 2^((i-1)/2^s) < v ≤ 2^(i/2^s); exact zeros are counted apart. Like OpenTelemetry's
// exponential histogram, a window starts at the finest scale and halves its resolution
// (downscale) when its values span more than BUCKETS buckets. Fixed memory in the series
// entry, no allocation, no host call; the index comes from the value's float exponent and a
// table lookup on its mantissa, not from a logarithm.
//
// Layout at `tp` (TIMING_BYTES):
//   +0 sum_us u64   +8 n u32   +12 offset i16 (index of counts[0])
//   +14 shift u8 (MAX_SCALE - scale; 0 in zeroed memory = the finest scale)
//   +15 len u8 (buckets in use; counts[0] and counts[len-1] are never 0)
//   +16 counts, BUCKETS x u32

export const MAX_SCALE: i32 = 8;
/** Buckets per timing: at scale 0 every value from 1 µs to 2^32 ms fits in 43. */
export const BUCKETS: i32 = 44;
export const TIMING_BYTES: usize = 16 + (<usize>BUCKETS << 2);
/** Larger values (~50 days) are recorded as this, so the bucket range stays bounded. */
const MAX_US: u64 = 4294967296000;
const SUB: i32 = 1 << MAX_SCALE;

/** POW[j] = 2^(j/256), j = 0..256: the scale-8 boundaries inside one octave. */
const POW = new StaticArray<f64>(SUB + 1);
/** LIN[t] = #{ j in 1..255 : POW[j] < 1 + t/256 }: where to start looking for a mantissa whose top 8 bits are t. */
const LIN = new StaticArray<u8>(SUB);

function initTables(): void {
  // Products of 2^(2^-k) (f64.sqrt is exactly rounded): at most 8 roundings per entry.
  const roots = new StaticArray<f64>(MAX_SCALE);
  let r: f64 = 2;
  for (let k = 0; k < MAX_SCALE; k++) { r = Math.sqrt(r); unchecked(roots[k] = r); } // roots[k] = 2^(2^-(k+1))
  for (let j = 0; j <= SUB; j++) {
    let p: f64 = j == SUB ? 2 : 1;
    for (let k = 0; k < MAX_SCALE && j < SUB; k++) if (j & (SUB >> (k + 1))) p *= unchecked(roots[k]);
    unchecked(POW[j] = p);
  }
  let c = 0;
  for (let t = 0; t < SUB; t++) {
    const m = 1.0 + <f64>t / <f64>SUB;
    while (c < SUB - 1 && unchecked(POW[c + 1]) < m) c++;
    unchecked(LIN[t] = <u8>c);
  }
}
initTables();

/** Bucket index at MAX_SCALE of a value in µs (≥ 1). Exact powers of two (in ms) are upper bounds. */
// @ts-ignore: decorator
@inline
export function index8(us: u64): i32 {
  const x = <f64>us / 1000.0; // correctly rounded: 1000·2^k µs gives exactly 2^k
  const bits = reinterpret<u64>(x);
  const e = <i32>(bits >> 52) - 1023;
  const frac = bits & 0xfffffffffffff;
  if (frac == 0) return e << MAX_SCALE;
  const m = reinterpret<f64>(frac | 0x3ff0000000000000);
  let c = <i32>unchecked(LIN[<i32>(frac >> 44)]);
  while (c < SUB - 1 && unchecked(POW[c + 1]) < m) c++;
  return (e << MAX_SCALE) + 1 + c;
}

/** Adds one observation (µs) to the timing at `tp`. */
// @ts-ignore: decorator
@inline
export function record(tp: usize, us: u64): void {
  if (us > MAX_US) us = MAX_US;
  store<u64>(tp, load<u64>(tp) + us);
  store<u32>(tp + 8, load<u32>(tp + 8) + 1);
  if (us == 0) return;
  const i8 = index8(us);
  const idx = ((i8 - 1) >> <i32>load<u8>(tp + 14)) + 1;
  const len = <i32>load<u8>(tp + 15);
  const off = <i32>load<i16>(tp + 12);
  const j = idx - off;
  if (len != 0 && <u32>j < <u32>len) {
    const cp = tp + 16 + (<usize>j << 2);
    store<u32>(cp, load<u32>(cp) + 1);
    return;
  }
  widen(tp, i8);
}

/** The value falls outside the buckets in use (or none are): extend them, downscaling while they would exceed BUCKETS. */
function widen(tp: usize, i8: i32): void {
  const cp = tp + 16;
  let shift = <i32>load<u8>(tp + 14);
  let len = <i32>load<u8>(tp + 15);
  let idx = ((i8 - 1) >> shift) + 1;
  if (len == 0) {
    store<i16>(tp + 12, <i16>idx);
    store<u8>(tp + 15, 1);
    store<u32>(cp, 1);
    return;
  }
  let off = <i32>load<i16>(tp + 12);
  let lo = min(off, idx), hi = max(off + len - 1, idx);
  while (hi - lo + 1 > BUCKETS) {
    // Downscale by one: bucket i becomes ((i-1) >> 1) + 1; targets never pass their sources.
    const nOff = ((off - 1) >> 1) + 1;
    const nTop = ((off + len - 2) >> 1) + 1;
    for (let j = 0; j < len; j++) {
      const p = cp + (<usize>j << 2);
      const v = load<u32>(p);
      store<u32>(p, 0);
      const q = cp + (<usize>(((off + j - 1) >> 1) + 1 - nOff) << 2);
      store<u32>(q, load<u32>(q) + v);
    }
    off = nOff;
    len = nTop - nOff + 1;
    shift++;
    idx = ((i8 - 1) >> shift) + 1;
    lo = min(off, idx);
    hi = max(off + len - 1, idx);
  }
  if (idx < off) {
    const d = <usize>(off - idx) << 2;
    memory.copy(cp + d, cp, <usize>len << 2);
    memory.fill(cp, 0, d);
    off = idx;
  }
  len = hi - lo + 1;
  const p = cp + (<usize>(idx - off) << 2);
  store<u32>(p, load<u32>(p) + 1);
  store<i16>(tp + 12, <i16>off);
  store<u8>(tp + 14, <u8>shift);
  store<u8>(tp + 15, <u8>len);
}

// Readers for the encoder.
export function timingSum(tp: usize): u64 { return load<u64>(tp); }
export function timingN(tp: usize): u32 { return load<u32>(tp + 8); }
export function scaleOf(tp: usize): i32 { return MAX_SCALE - <i32>load<u8>(tp + 14); }
export function offsetOf(tp: usize): i32 { return <i32>load<i16>(tp + 12); }
export function lenOf(tp: usize): i32 { return <i32>load<u8>(tp + 15); }
export function countAt(tp: usize, j: i32): u32 { return load<u32>(tp + 16 + (<usize>j << 2)); }
/** Observations of exactly 0 µs: those not in any bucket. */
export function zeroOf(tp: usize): u32 {
  let t: u32 = 0;
  const len = lenOf(tp);
  for (let j = 0; j < len; j++) t += countAt(tp, j);
  return timingN(tp) - t;
}
