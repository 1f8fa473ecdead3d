// A series' timings as wire v2 packs them (docs/wire-format.md "The timings"): one MessagePack
// bin holding the mask of timings with observations, then per timing sum_us, scale, zero,
// zigzag offset and bucket count (LEB128 varints; scale one byte) and one byte per occupied
// bucket: high nibble the empty buckets skipped before it, low nibble its count - 1, a nibble of
// 15 followed by a varint of the rest. Sparse windows cost about a byte per occupied bucket and
// dense ones a byte per bucket, where MessagePack ints with explicit indices cost two or more.
import { Writer } from "./msgpack";
import { countAt, lenOf, offsetOf, present, scaleOf, timingSum, zeroOf } from "./exphist";

const ESC: u32 = 15;

/** Writes the bin for the `nTimings` timings at `first`, `stride` bytes apart. */
export function packTimings(w: Writer, first: usize, stride: usize, nTimings: i32): void {
  const at = w.binBegin();
  let mask: u32 = 0;
  for (let t = 0; t < nTimings; t++) if (present(first + <usize>t * stride)) mask |= 1 << t;
  w.varint(<u64>mask);
  for (let t = 0; t < nTimings; t++) {
    if (!(mask & (1 << t))) continue;
    const tp = first + <usize>t * stride;
    w.varint(timingSum(tp));
    w.varint(<u64>scaleOf(tp));
    w.varint(<u64>zeroOf(tp));
    const off = offsetOf(tp);
    w.varint(<u64>(<u32>((off << 1) ^ (off >> 31))));
    const len = lenOf(tp);
    w.varint(<u64>len);
    let gap: u32 = 0;
    for (let j = 0; j < len; j++) {
      const c = countAt(tp, j);
      if (c == 0) { gap++; continue; }
      const cm1 = c - 1;
      w.byte((min(gap, ESC) << 4) | min(cm1, ESC));
      if (gap >= ESC) w.varint(<u64>(gap - ESC));
      if (cm1 >= ESC) w.varint(<u64>(cm1 - ESC));
      gap = 0;
    }
  }
  w.binEnd(at);
}
