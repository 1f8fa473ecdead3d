// Byte-level lexing shared by the configuration parser and the hot-path Server-Timing parser:
// HTTP tokens, optional whitespace, ASCII case and decimal scaling. A leaf: it imports nothing,
// so the parsers that need it never import each other.

/** RFC 7230 tchar: the characters of a header name or Server-Timing metric name. */
export function isTokenChar(c: i32): bool {
  if (c >= 0x30 && c <= 0x39) return true;
  if (c >= 0x41 && c <= 0x5a) return true;
  if (c >= 0x61 && c <= 0x7a) return true;
  switch (c) {
    case 0x21: case 0x23: case 0x24: case 0x25: case 0x26: case 0x27: case 0x2a: case 0x2b:
    case 0x2d: case 0x2e: case 0x5e: case 0x5f: case 0x60: case 0x7c: case 0x7e:
      return true;
  }
  return false;
}

/** RFC 7230 OWS: space or horizontal tab. */
// @ts-ignore: decorator
@inline
export function isOws(c: u32): bool { return c == 0x20 || c == 0x09; }

/** An ASCII decimal digit. */
// @ts-ignore: decorator
@inline
export function isDigit(c: u32): bool { return c >= 0x30 && c <= 0x39; }

/** The byte lower-cased when it is an ASCII upper-case letter, unchanged otherwise. */
// @ts-ignore: decorator
@inline
export function asciiLowerByte(c: u32): u32 { return c >= 0x41 && c <= 0x5a ? c | 0x20 : c; }

/** ASCII-only lower-casing (String#toLowerCase drags Unicode tables into the module). */
export function asciiLower(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += String.fromCharCode(asciiLowerByte(s.charCodeAt(i)));
  return out;
}

/** A non-empty string of token characters. */
export function isToken(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return true;
}

/** Visible ASCII only (0x21..0x7e): no spaces, no controls, no non-ASCII. */
export function isPrintableAscii(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** m x 10^e without Math.pow (keeps the module small); exact enough for durations and config
 * integers. */
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

/** A 3-digit HTTP status code in [p, p+n), 0 when malformed. */
export function parseStatusCode(p: usize, n: usize): u32 {
  if (n != 3) return 0;
  let code: u32 = 0;
  for (let k: usize = 0; k < 3; k++) {
    const c = <u32>load<u8>(p + k);
    if (!isDigit(c)) return 0;
    code = code * 10 + c - 0x30;
  }
  return code;
}

/** HTTP delay-seconds (RFC 9110 10.2.3 Retry-After: 1*DIGIT) in [p, p+n), saturating at
 * 1e9; -1 when it is anything else (an HTTP-date, garbage, empty). */
export function parseDelaySeconds(p: usize, n: usize): i64 {
  if (n == 0) return -1;
  let v: i64 = 0;
  for (let k: usize = 0; k < n; k++) {
    const c = <u32>load<u8>(p + k);
    if (!isDigit(c)) return -1;
    if (v < 1000000000) v = v * 10 + <i64>(c - 0x30);
  }
  return min(v, 1000000000);
}
