// A request's timings: the app time a Server-Timing header reports (W3C server-timing,
// w3c/server-timing index.bs, parsed on raw header bytes without allocation), and the stream's timestamps
// t0..t3 turned into the five timings of its series, rounded from ns to the µs the wire carries.
import { isOws, isTokenChar, scalePow10 } from "./lex";
import { monoNow } from "./abi";
import { SeriesTable, T_APP, T_NETWORK, T_PROXY, T_REQUEST, T_UPSTREAM } from "./series";
import * as S from "./slots";

// Largest `dur` accepted (ms): keeps µs sums far from u64 overflow; ~31 years.
const MAX_DUR_MS: f64 = 1e12;

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

/** (a - b) in µs, rounded; 0 if the clock went backwards. */
// @ts-ignore: decorator
@inline
function nsToUsSafe(a: u64, b: u64): u64 {
  return a > b ? (a - b + 500) / 1000 : 0;
}

/** Folds the timings of stream `s` into series entry `e` and returns `request` in µs (-1 when
 * the stream has no start):
 *   request  = t3 - t0 (t3 = now when the response never ended)
 *   upstream = t2 - t1 (first response byte - end of the request), at most `request`
 *   proxy    = request - upstream
 *   app      = the Server-Timing duration, network = upstream - app (never negative)
 * Only the timings whose timestamps exist are observed. */
// @ts-ignore: decorator
@inline
export function observeTimings(table: SeriesTable, e: usize, s: usize): i64 {
  const f = S.flags(s);
  if ((f & S.F_T0) == 0) return -1;
  const t0 = S.t0(s);
  const t3 = (f & S.F_T3) != 0 ? S.t3(s) : monoNow();
  const totalUs = nsToUsSafe(t3, t0);
  table.observe(e, T_REQUEST, totalUs);
  if ((f & S.F_T2) == 0) return <i64>totalUs;
  // response before the request ended (early reply while uploading): measure from t0,
  // also when the upload ends after the response started (t1 > t2)
  const t2 = S.t2(s);
  const t1 = (f & S.F_T1) != 0 && S.t1(s) <= t2 ? S.t1(s) : t0;
  let upUs = nsToUsSafe(t2, t1);
  if (upUs > totalUs) upUs = totalUs;
  table.observe(e, T_UPSTREAM, upUs);
  table.observe(e, T_PROXY, totalUs - upUs);
  if ((f & S.F_APP) != 0) {
    const app = S.app(s);
    table.observe(e, T_APP, app);
    table.observe(e, T_NETWORK, upUs > app ? upUs - app : 0);
  }
  return <i64>totalUs;
}
