// The stream's request headers, read in one host call: the tier header and the trace headers
// (`traceparent`, `x-b3-traceid`, `x-b3-sampled`) from one serialized copy of the map
// (proxy_get_header_map_pairs), so the exemplar's trace id costs no host call over reading the
// tier alone (plugin.ts readRequest decides when to read the whole map). Envoy serializes every entry in order (envoy
// source/extensions/common/wasm/context.cc headerMapToPairs), so a name's first entry is what
// proxy_get_header_map_value would return (getHeaderMapValue: entry[0]) and a repeated header
// shows as such.
import { Bytes, getHeaderPairs, MAP_REQUEST_HEADERS } from "./abi";
import { Slice, SLICE_BYTES } from "./slice";
import { traceIdOf } from "./trace";
import * as S from "./slots";

const PAIRS = changetype<Slice>(memory.data(SLICE_BYTES, 8));
// The trace headers' names as little-endian words, matched with two loads each (byte compares
// against a table of names cost the filter's size more).
const TRACEPAR: u64 = 0x7261706563617274; // "tracepar", then "rent" at 7
const RENT: u32 = 0x746e6572;
const X_B3: u64 = 0x2d33622d78;           // "x-b3-"
const TRA: u64 = 0x6172742d33622d78;      // "x-b3-tra", then "ceid" at 8
const SAM: u64 = 0x6d61732d33622d78;      // "x-b3-sam", then "pled" at 8
const CEID: u32 = 0x64696563;
const PLED: u32 = 0x64656c70;

/** scanRequestHeaders' result: the tier header is present. */
export const H_TIER: i32 = 1;
/** scanRequestHeaders' result: a trace header is present (valid, sampled or not). */
export const H_TRACE: i32 = 2;

/** Reads stream `s`'s request headers (readable in on_request_headers and on_log) into its
 * slot and `tier` (scanRequestHeaders). */
export function readRequestHeaders(s: usize, tierHeader: Bytes, sampledOnly: bool, tier: Slice): i32 {
  S.setTraceLen(s, 0);
  tier.clear();
  return getHeaderPairs(MAP_REQUEST_HEADERS, PAIRS) ? scanRequestHeaders(PAIRS.ptr, PAIRS.len, tierHeader, sampledOnly, tier, s) : 0;
}

/** In proxy-wasm pairs [b, b+n): the first `tierHeader` value into `tier` and the trace id an
 * exemplar may carry into slot `s` (whose trace length is 0; traceIdOf on the first of each
 * header) — none when absent, malformed or a repeated traceparent, and with `sampledOnly` none for a trace
 * its sender did not sample (`traceparent` flag bit 0, `x-b3-sampled: 0`). Returns H_TIER |
 * H_TRACE as present. Never reads outside [b, b+n). */
export function scanRequestHeaders(b: usize, n: usize, tierHeader: Bytes, sampledOnly: bool, tier: Slice, s: usize): i32 {
  if (n < 4) return 0;
  const count = <usize>load<u32>(b);
  if (count > (n - 4) >> 3) return 0;
  let off: usize = 4 + (count << 3);
  let found = false;
  // [p, p+len) of each trace header. A repeated traceparent is invalid (w3c/trace-context
  // test/test.py test_traceparent_duplicated: HTTP would join the values, which the grammar
  // rejects): len 1 never parses. Of repeated B3 headers the first wins (openzipkin/b3-propagation
  // README, "Multiple Headers"). b3Sampled: 1 sampled, 0 denied, -1 absent (defer: counts).
  let tp: usize = 0, tpLen: usize = 0, b3: usize = 0, b3Len: usize = 0;
  let b3Sampled = -1;
  for (let i: usize = 0; i < count; i++) {
    const kl = <usize>load<u32>(b + 4 + (i << 3));
    const vl = <usize>load<u32>(b + 8 + (i << 3));
    if (kl > n || vl > n || off + kl + vl + 2 > n) break;
    const kp = b + off;
    const vp = kp + kl + 1;
    off += kl + vl + 2;
    if (!found && kl == tierHeader.len && memory.compare(kp, tierHeader.ptr, kl) == 0) {
      found = true;
      tier.set(vp, vl);
    } else if (kl == 11 && load<u64>(kp) == TRACEPAR && load<u32>(kp + 7) == RENT) {
      tpLen = tp != 0 ? 1 : vl;
      tp = vp;
    } else if (kl != 12 || (load<u64>(kp) & 0xffffffffff) != X_B3) {
      continue;
    } else if (load<u64>(kp) == TRA && load<u32>(kp + 8) == CEID) {
      if (b3 == 0) { b3 = vp; b3Len = vl; }
    } else if (load<u64>(kp) == SAM && load<u32>(kp + 8) == PLED && b3Sampled < 0) {
      // "0" denies; "false" is the older spelling a lenient reader accepts (b3-propagation README)
      b3Sampled = (vl == 1 && load<u8>(vp) == 0x30) ||
        (vl == 5 && load<u32>(vp) == 0x736c6166 && load<u8>(vp + 4) == 0x65) ? 0 : 1; // "fals" "e"
    }
  }
  if ((tp | b3) == 0) return found ? H_TIER : 0;
  S.setTraceLen(s, <u32>traceIdOf(tp, tpLen, b3, sampledOnly && b3Sampled == 0 ? 0 : b3Len, sampledOnly, S.traceId(s)));
  return found ? H_TIER | H_TRACE : H_TRACE;
}
