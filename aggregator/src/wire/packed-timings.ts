// Reads a v2 series' timings (docs/wire-format.md "The timings"): one MessagePack bin holding a
// presence mask, then per present timing its sum, scale, zero count, first bucket and counts,
// as LEB128 varints and one byte per occupied bucket (gap and count in its two nibbles). Every
// byte is checked; a fault throws AGG_ERR_SCHEMA at the series' timings path, naming the timing.
import { MAX_INDEX_0, MAX_SCALE, MIN_INDEX_0, MIN_SCALE, upperMs } from "./exp-buckets.ts";
import { TIMING_NAMES } from "./types.ts";
import type { ExpTiming } from "./types.ts";
import { fail } from "./checks.ts";

const NT = TIMING_NAMES.length;
const ALL_TIMINGS = (1 << NT) - 1;
/** 8 varint bytes hold 56 bits: more than any safe integer needs. */
const MAX_VARINT_BYTES = 8;
/** A nibble of 15 means "15 plus a varint that follows". */
const ESC = 15;

class Reader {
  pos = 0;
  timing = "";
  constructor(readonly b: Uint8Array, readonly path: () => string) {}

  fail(what: string): never {
    fail(this.path(), `${this.timing ? `${this.timing} timing: ` : ""}${what} (byte ${this.pos})`);
  }

  byte(): number {
    if (this.pos >= this.b.length) this.fail("ends early");
    return this.b[this.pos++]!;
  }

  /** Unsigned LEB128, a safe integer. */
  varint(): number {
    const first = this.byte();
    if (first < 0x80) return first;
    let v = first & 0x7f;
    let mul = 0x80;
    for (let i = 1; i < MAX_VARINT_BYTES; i++) {
      const x = this.byte();
      v += (x & 0x7f) * mul;
      if (x < 0x80) {
        if (!Number.isSafeInteger(v)) this.fail("varint beyond 2^53");
        return v;
      }
      mul *= 0x80;
    }
    this.fail(`varint longer than ${MAX_VARINT_BYTES} bytes`);
  }
}

function timingAt(r: Reader, count: number, maxBuckets: number): ExpTiming {
  const sumUs = r.varint();
  const scale = r.byte();
  if (scale < MIN_SCALE || scale > MAX_SCALE) r.fail(`scale ${scale} out of range ${MIN_SCALE}..${MAX_SCALE}`);
  const zero = r.varint();
  const zz = r.varint();
  const offset = zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
  const len = r.varint();
  if (len > maxBuckets) r.fail(`${len} buckets exceed the limit ${maxBuckets}`);
  const per = 2 ** scale;
  if (len > 0 && (offset < MIN_INDEX_0 * per || offset + len - 1 > MAX_INDEX_0 * per)) {
    r.fail(`buckets ${offset}..${offset + len - 1} reach outside ${MIN_INDEX_0 * per}..${MAX_INDEX_0 * per} (1 µs .. 2^${MAX_INDEX_0} ms at scale ${scale})`);
  }
  const counts = new Array<number>(len).fill(0);
  let n = zero;
  // Each value in bucket i lies in (upper(i-1), upper(i)] ms, so the sum lies between the bounds'
  // weighted sums; a sum outside them would skew every mean it is merged into.
  let lo = 0, hi = 0;
  for (let j = 0; j < len;) {
    const t = r.byte();
    let gap = t >> 4;
    let c = (t & 15) + 1;
    if (gap === ESC) gap += r.varint();
    if (c === ESC + 1) c += r.varint();
    if (gap > 0 && j === 0) r.fail("the first bucket must be occupied");
    j += gap;
    if (j >= len) r.fail(`a bucket beyond the ${len} announced`);
    counts[j] = c;
    n += c;
    lo += c * upperMs(offset + j - 1, scale) * 1000;
    hi += c * upperMs(offset + j, scale) * 1000;
    j++;
  }
  if (n === 0) r.fail("present without observations");
  if (!Number.isSafeInteger(n)) r.fail("counts overflow");
  if (n > count) r.fail(`${n} observations in a series of ${count} requests`);
  // Tolerance for the float bounds (values are whole µs, the bounds are not).
  if (sumUs < Math.floor(lo * (1 - 1e-9)) || sumUs > Math.ceil(hi * (1 + 1e-9))) {
    r.fail(`sum ${sumUs} µs is outside the range its buckets allow [${Math.floor(lo)}, ${Math.ceil(hi)}]`);
  }
  return { n, sumUs, scale, zero, offset: len > 0 ? offset : 0, counts };
}

/** The five timings (null when absent) of the series at `path`, whose count is `count`. */
export function readTimings(v: unknown, path: () => string, count: number, maxBuckets: number): (ExpTiming | null)[] {
  if (!(v instanceof Uint8Array)) fail(path(), "expected the timings as binary");
  const r = new Reader(v, path);
  const mask = r.byte();
  if (mask > ALL_TIMINGS) r.fail(`timing mask ${mask} has bits beyond the ${NT} timings`);
  const timings = new Array<ExpTiming | null>(NT).fill(null);
  for (let t = 0; t < NT; t++) {
    if (!(mask & (1 << t))) continue;
    r.timing = TIMING_NAMES[t]!;
    timings[t] = timingAt(r, count, maxBuckets);
  }
  r.timing = "";
  if (r.pos !== v.length) r.fail(`${v.length - r.pos} bytes after the last timing`);
  return timings;
}
