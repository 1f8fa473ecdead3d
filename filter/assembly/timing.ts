// Server-Timing parsing (W3C server-timing, reference §6) on raw header bytes, without
// allocation, and the rounding of nanosecond intervals to the µs the wire carries.
import { isTokenChar } from "./config";

// @ts-ignore: decorator
@inline
function isOws(c: u32): bool { return c == 0x20 || c == 0x09; }

// Largest `dur` accepted (ms): keeps µs sums far from u64 overflow; ~31 years.
const MAX_DUR_MS: f64 = 1e12;

/** m x 10^e without Math.pow (keeps the module small); exact enough for durations. */
export function scalePow10(m: f64, e: i32): f64 {
  if (m == 0) return 0;
  if (e > 400) return Infinity;
  if (e < -400) return 0;
  const neg = e < 0;
  let k = neg ? -e : e;
  let p: f64 = 1;
  while (k > 0) { p *= 10; k--; }
  return neg ? m / p : m * p;
}

/** The decimal float at the start of [p, p+n) (digits, optional fraction, optional exponent)
 * in ms -> µs rounded; what follows it is ignored, as HTML's "rules for parsing floating-point
 * number values" do (W3C server-timing, duration getter). -1 when there is no number or it is
 * not finite and non-negative. */
export function parseDurUs(p: usize, n: usize): i64 {
  let i: usize = 0;
  if (n == 0) return -1;
  if (load<u8>(p) == 0x2b) i++; // a leading '+' is harmless
  let mant: f64 = 0;
  let digits = 0;
  let scale = 0;
  while (i < n) {
    const c = <u32>load<u8>(p + i);
    if (c < 0x30 || c > 0x39) break;
    mant = mant * 10 + <f64>(c - 0x30);
    digits++; i++;
  }
  if (i < n && load<u8>(p + i) == 0x2e) {
    i++;
    while (i < n) {
      const c = <u32>load<u8>(p + i);
      if (c < 0x30 || c > 0x39) break;
      if (digits < 18) { mant = mant * 10 + <f64>(c - 0x30); scale--; }
      digits++; i++;
    }
  }
  if (digits == 0) return -1;
  if (i < n && (load<u8>(p + i) | 0x20) == 0x65) {
    i++;
    let neg = false;
    if (i < n && (load<u8>(p + i) == 0x2b || load<u8>(p + i) == 0x2d)) { neg = load<u8>(p + i) == 0x2d; i++; }
    let ex = 0;
    while (i < n) {
      const c = <u32>load<u8>(p + i);
      if (c < 0x30 || c > 0x39) break;
      if (ex < 10000) ex = ex * 10 + <i32>(c - 0x30);
      i++;
    }
    scale += neg ? -ex : ex; // no exponent digits: exponent 0, as HTML's rules
  }
  const ms = scalePow10(mant, scale);
  if (!isFinite(ms) || ms < 0 || ms > MAX_DUR_MS) return -1;
  return <i64>Math.round(ms * 1000);
}

/** `dur` in µs of the first metric named exactly `name` with a valid dur in one Server-Timing
 * field value; -1 when none. Robust to junk: it never reads outside [p, p+n). */
export function serverTimingAppUs(p: usize, n: usize, name: usize, nameLen: usize): i64 {
  let i: usize = 0;
  while (i < n) {
    // metric name
    while (i < n && (isOws(load<u8>(p + i)) || load<u8>(p + i) == 0x2c)) i++;
    const ns = i;
    while (i < n && isTokenChar(load<u8>(p + i))) i++;
    const nameMatch = i - ns == nameLen && nameLen > 0 && memory.compare(p + ns, name, nameLen) == 0;
    let dur: i64 = -1;
    let durSeen = false;
    // params and junk up to the next top-level ','
    while (i < n) {
      const c = load<u8>(p + i);
      if (c == 0x2c) break;
      if (c != 0x3b) { i++; continue; } // extraneous characters are ignored
      i++;
      while (i < n && isOws(load<u8>(p + i))) i++;
      const ps = i;
      while (i < n && isTokenChar(load<u8>(p + i))) i++;
      const pe = i;
      while (i < n && isOws(load<u8>(p + i))) i++;
      if (i >= n || load<u8>(p + i) != 0x3d) continue; // no value
      i++;
      while (i < n && isOws(load<u8>(p + i))) i++;
      let vs = i;
      let ve = i;
      let vOk = true;
      if (i < n && load<u8>(p + i) == 0x22) {
        i++;
        vs = i;
        while (i < n && load<u8>(p + i) != 0x22) {
          if (load<u8>(p + i) == 0x5c) { vOk = false; i++; }
          i++;
        }
        if (i >= n) { ve = n; vOk = false; } else { ve = i; i++; }
      } else {
        while (i < n && isTokenChar(load<u8>(p + i))) i++;
        ve = i;
      }
      // only the first occurrence of a parameter counts (W3C)
      if (pe - ps == 3 && load<u8>(p + ps) == 0x64 && load<u8>(p + ps + 1) == 0x75 &&
          load<u8>(p + ps + 2) == 0x72 && !durSeen) {
        durSeen = true;
        if (vOk && ve > vs) dur = parseDurUs(p + vs, ve - vs);
      }
    }
    if (nameMatch && dur >= 0) return dur;
    if (i < n) i++; // skip ','
  }
  return -1;
}
