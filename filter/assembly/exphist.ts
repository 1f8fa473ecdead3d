// One timing of one series as a base-2 exponential histogram (wire v2, docs/wire-format.md),
// in the Prometheus native-histogram convention: at scale s, bucket i holds values v (ms) with
// 2^((i-1)/2^s) < v ≤ 2^(i/2^s); exact zeros are counted apart. Like OpenTelemetry's
// exponential histogram, a window starts at the finest scale and halves its resolution
// (downscale) when its values span more than its buckets. Fixed memory in the series entry, no
// allocation, no host call; the index comes from the value's float exponent and a table lookup
// on its mantissa, not from a logarithm.
//
// Counts are u16, so that 86 buckets fit where 43 u32 would: 86 keep a window spanning 1–100 ms
// at scale 3 (buckets 9% wide), which the aggregator needs for p99 within 5% in PromQL's
// interpolation (bench/histograms.ts). A bucket that would pass 65,535 in one window turns the
// timing wide for the rest of it: one scale coarser (or more), 43 u32 counts in the same bytes.
//
// Layout at `tp` (TIMING_BYTES):
//   +0 sum_us u64   +8 zero u32 (observations of 0 µs)   +12 offset i16 (index of counts[0])
//   +14 mode u8: low 7 bits FIRST_SCALE - scale (0 in zeroed memory: a window starts at FIRST_SCALE), bit 7 wide
//   +15 len u8 (buckets in use; counts[0] and counts[len-1] are never 0)
//   +16 counts: BUCKETS x u16, or WIDE_BUCKETS x u32 when wide

/** The scale a window starts at (its finest), and the one index3 computes at. */
export const FIRST_SCALE: i32 = 3;
/** Buckets per timing (u16 counts). */
export const BUCKETS: i32 = 86;
/** Buckets of a wide timing (u32 counts): at scale 0 every value from 1 µs to 2^32 ms fits in 43. */
export const WIDE_BUCKETS: i32 = 43;
const COUNT_BYTES: usize = <usize>BUCKETS << 1;
export const TIMING_BYTES: usize = 16 + COUNT_BYTES;
const WIDE: u32 = 0x80;
const U16_MAX: u32 = 0xffff;
/** Larger values (~50 days) are recorded as this, so the bucket range stays bounded. */
const MAX_US: u64 = 4294967296000;

/** UP3[j] = 2^((j+1)/8), j = 0..7: the scale-3 boundaries inside one octave, the very doubles
 * the aggregator compares with (aggregator/src/wire/exp-buckets.ts: 2 ** (j / 8)). */
const UP3: StaticArray<f64> = [
  1.0905077326652577, 1.189207115002721, 1.2968395546510096, 1.4142135623730951,
  1.542210825407941, 1.6817928305074292, 1.8340080864093424, 2, // 2: above every mantissa, ends the search
];

/** Bucket index at scale 3 of a value in µs (≥ 1). Exact powers of two (in ms) are upper bounds. */
// @ts-ignore: decorator
@inline
export function index3(us: u64): i32 {
  // The largest double below v (ms; the division is correctly rounded, so 1000·2^k µs gives
  // exactly 2^k): v's bucket is the one whose lower bound that double reaches, which puts
  // powers of two at the top of theirs without a branch.
  const bits = reinterpret<u64>(<f64>us / 1000.0) - 1;
  const m = reinterpret<f64>((bits & 0xfffffffffffff) | 0x3ff0000000000000);
  let c = 0;
  while (unchecked(UP3[c]) <= m) c++;
  return ((<i32>(bits >> 52) - 1023) << FIRST_SCALE) + 1 + c;
}

/** Adds one observation (µs) to the timing at `tp` (one copy, called from the five timings' sites: size). */
export function record(tp: usize, us: u64): void {
  us = min(us, MAX_US);
  store<u64>(tp, load<u64>(tp) + us);
  if (us == 0) { store<u32>(tp + 8, load<u32>(tp + 8) + 1); return; }
  const i3 = index3(us);
  const mode = <u32>load<u8>(tp + 14);
  const j = ((i3 - 1) >> <i32>mode) + 1 - <i32>load<i16>(tp + 12); // mode is the shift when narrow
  // The common case: a narrow timing, a bucket in use, room in its count.
  if (mode < WIDE && <u32>j < <u32>load<u8>(tp + 15)) {
    const cp = tp + 16 + (<usize>j << 1);
    const c = <u32>load<u16>(cp);
    if (c < U16_MAX) { store<u16>(cp, <u16>(c + 1)); return; }
  }
  recordSlow(tp, i3);
}

/** Counts while a timing is rebuilt (u32, as many as a narrow timing holds): allocated once, when the module starts. */
const SCRATCH: usize = heap.alloc(<usize>BUCKETS << 2);

/**
 * Everything but the common case: a wide timing; a value outside the buckets in use (extend
 * them, downscaling while they would exceed the mode's buckets); a count at the u16 limit (go
 * wide). The counts are rebuilt in SCRATCH as u32 and written back in the timing's mode.
 */
function recordSlow(tp: usize, i3: i32): void {
  const cp = tp + 16;
  const mode = <u32>load<u8>(tp + 14);
  let wide = mode >= WIDE;
  let room = wide ? WIDE_BUCKETS : BUCKETS;
  let shift = <i32>(mode & ~WIDE);
  let len = <i32>load<u8>(tp + 15);
  let off = len == 0 ? ((i3 - 1) >> shift) + 1 : <i32>load<i16>(tp + 12);
  // SCRATCH holds the counts and zeros beyond them, throughout.
  memory.fill(SCRATCH, 0, <usize>BUCKETS << 2);
  for (let j = 0; j < len; j++) store<u32>(SCRATCH + (<usize>j << 2), countAt(tp, j));
  // Downscale while the buckets in use and the value's would exceed the mode's room, or (narrow)
  // a count would pass u16 (then go wide, whose room is smaller).
  let idx: i32;
  while (true) {
    idx = ((i3 - 1) >> shift) + 1;
    if (max(off + len - 1, idx) - min(off, idx) + 1 <= room) {
      if (wide) break;
      // Narrow: go wide if a count (with one more at idx) would pass u16.
      let over = false;
      for (let j = 0; j < len; j++) if (load<u32>(SCRATCH + (<usize>j << 2)) + <u32>(off + j == idx) > U16_MAX) over = true;
      if (!over) break;
      wide = true;
      room = WIDE_BUCKETS;
      continue;
    }
    // Down by one: bucket i becomes ((i-1) >> 1) + 1; targets never pass their sources.
    const nOff = ((off - 1) >> 1) + 1;
    for (let j = 0; j < len; j++) {
      const src = SCRATCH + (<usize>j << 2);
      const v = load<u32>(src);
      store<u32>(src, 0);
      const q = SCRATCH + (<usize>(((off + j - 1) >> 1) + 1 - nOff) << 2);
      store<u32>(q, load<u32>(q) + v);
    }
    len = ((off + len - 2) >> 1) + 1 - nOff + 1;
    off = nOff;
    shift++;
  }
  // Grow the range to the value's bucket (new buckets empty), then count it.
  if (idx < off) {
    const d = <usize>(off - idx) << 2;
    memory.copy(SCRATCH + d, SCRATCH, <usize>len << 2);
    memory.fill(SCRATCH, 0, d);
    len += off - idx;
    off = idx;
  } else if (idx >= off + len) {
    len = idx - off + 1;
  }
  const p = SCRATCH + (<usize>(idx - off) << 2);
  store<u32>(p, load<u32>(p) + 1);
  // Back in the timing's mode, zeros beyond the counts included.
  for (let j = 0; j < room; j++) {
    const v = load<u32>(SCRATCH + (<usize>j << 2));
    if (wide) store<u32>(cp + (<usize>j << 2), v); else store<u16>(cp + (<usize>j << 1), <u16>v);
  }
  store<i16>(tp + 12, <i16>off);
  store<u8>(tp + 14, <u8>(shift | (<i32>wide << 7)));
  store<u8>(tp + 15, <u8>len);
}

// Readers for the encoder.
export function timingSum(tp: usize): u64 { return load<u64>(tp); }
export function scaleOf(tp: usize): i32 { return FIRST_SCALE - <i32>(<u32>load<u8>(tp + 14) & ~WIDE); }
export function offsetOf(tp: usize): i32 { return <i32>load<i16>(tp + 12); }
export function lenOf(tp: usize): i32 { return <i32>load<u8>(tp + 15); }
export function countAt(tp: usize, j: i32): u32 {
  return <u32>load<u8>(tp + 14) >= WIDE ? load<u32>(tp + 16 + (<usize>j << 2)) : <u32>load<u16>(tp + 16 + (<usize>j << 1));
}
/** Observations of exactly 0 µs: those not in any bucket. */
export function zeroOf(tp: usize): u32 { return load<u32>(tp + 8); }
/** Whether the timing had observations in the window. */
export function present(tp: usize): bool { return (zeroOf(tp) | lenOf(tp)) != 0; }
/** Observations in the window (for tests: the wire does not carry it). */
export function timingN(tp: usize): u32 {
  let t = zeroOf(tp);
  for (let j = 0, len = lenOf(tp); j < len; j++) t += countAt(tp, j);
  return t;
}
