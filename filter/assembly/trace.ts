// A request's trace id, for the exemplar of its series: from W3C Trace Context's `traceparent`
// (w3c/trace-context spec/20-http_request_header_format.md), else from B3's `x-b3-traceid`
// (openzipkin/b3-propagation README.md), parsed on raw header bytes without allocation. Strict:
// a header that is not exactly what its spec allows never yields an id. A leaf: imports nothing.

/** Lower-case hex digit value, or -1 (the specs allow lower case only). */
// @ts-ignore: decorator
@inline
function hexVal(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  if (c >= 0x61 && c <= 0x66) return <i32>(c - 0x57);
  return -1;
}

/** Decodes 2·k hex digits at p into k bytes at out; false on a non-hex digit or when every
 * byte is zero (an all-zero trace or parent id is invalid in both specs). */
function hexBytes(p: usize, k: usize, out: usize): bool {
  let any: u32 = 0;
  for (let i: usize = 0; i < k; i++) {
    const hi = hexVal(<u32>load<u8>(p + (i << 1)));
    const lo = hexVal(<u32>load<u8>(p + (i << 1) + 1));
    if ((hi | lo) < 0) return false;
    const b = <u32>((hi << 4) | lo);
    if (out != 0) store<u8>(out + i, <u8>b);
    any |= b;
  }
  return any != 0;
}

// Scratch for the parent id, which is validated but not kept.
const PARENT = memory.data(8);

/** `traceparent` value [p, p+n): -1 when invalid, else its trace-flags byte, with the 16-byte
 * trace id written to out. Version 00 is exactly 55 characters; a later version (01..fe) is
 * read by its version-00 prefix and may go on only after a '-'; version ff is invalid. */
export function traceparentFlags(p: usize, n: usize, out: usize): i32 {
  if (n < 55) return -1;
  const v1 = hexVal(<u32>load<u8>(p));
  const v0 = hexVal(<u32>load<u8>(p + 1));
  if ((v1 | v0) < 0) return -1;
  const version = (v1 << 4) | v0;
  if (version == 0xff) return -1;
  if (version == 0 ? n != 55 : n > 55 && load<u8>(p + 55) != 0x2d) return -1;
  if (load<u8>(p + 2) != 0x2d || load<u8>(p + 35) != 0x2d || load<u8>(p + 52) != 0x2d) return -1;
  if (!hexBytes(p + 3, 16, out) || !hexBytes(p + 36, 8, PARENT)) return -1;
  const f1 = hexVal(<u32>load<u8>(p + 53));
  const f0 = hexVal(<u32>load<u8>(p + 54));
  if ((f1 | f0) < 0) return -1;
  return (f1 << 4) | f0;
}

/** `x-b3-traceid` value [p, p+n): 16 or 32 lower-case hex digits, not all zero. Returns the id's
 * byte length (8 or 16), written to out; 0 when invalid. */
export function b3TraceId(p: usize, n: usize, out: usize): i32 {
  if (n != 16 && n != 32) return 0;
  return hexBytes(p, n >> 1, out) ? <i32>(n >> 1) : 0;
}

/** The trace id an exemplar carries, written to out (16 bytes): a valid traceparent's, else a
 * valid B3 id's; with sampledOnly, a valid traceparent whose sampled flag (bit 0) is clear
 * gives none, since its trace was not recorded. Absent headers have len 0. Returns the id's
 * length (16, or 8 for a 64-bit B3 id), 0 for none. */
export function traceIdOf(tp: usize, tpLen: usize, b3: usize, b3Len: usize, sampledOnly: bool, out: usize): i32 {
  if (tpLen != 0) {
    const flags = traceparentFlags(tp, tpLen, out);
    if (flags >= 0) return sampledOnly && (flags & 1) == 0 ? 0 : 16;
  }
  return b3Len != 0 ? b3TraceId(b3, b3Len, out) : 0;
}
