// The HTTP stream callbacks: each stamps what it sees into the stream's slot (slots.ts) —
// t0 request start, t1 request end, t2 first response byte, t3 response end, the tier (and
// the trace id, plugin.ts readRequest), the status and the app time — and proxy_on_log hands the slot to its plugin to record.
import {
  getHeaderPairs, monoNow, textLen, textPtr, H_STATUS, MAP_RESPONSE_HEADERS,
} from "./abi";
import { parseStatusCode } from "./lex";
import { Plugin } from "./plugin";
import { pluginFor, pluginOf } from "./roots";
import { Slice, SLICE_BYTES } from "./slice";
import { serverTimingAppUs } from "./timing";
import * as S from "./slots";

const H_SERVER_TIMING = staticText("server-timing");
const PAIRS = changetype<Slice>(memory.data(SLICE_BYTES, 8));

// @ts-ignore: decorator
@inline
export function onRequestHeaders(ctx: u32, eos: u32): void {
  const s = S.find(ctx);
  if (s == 0) return;
  const p = pluginFor(S.root(s));
  if (p === null) return;
  const t = monoNow();
  S.setT0(s, t);
  if (eos != 0) S.setT1(s, t); // t1 = t0: no second clock read
  p.readRequest(s);
}

/** t1, the end of the downstream request: stamped once, by whichever phase ends the stream. */
export function endRequest(ctx: u32): void {
  const s = S.find(ctx);
  if (s != 0 && (S.flags(s) & S.F_T1) == 0) S.setT1(s, monoNow());
}

/** t3, the last response byte: stamped once, by whichever phase ends the stream. */
export function endResponse(ctx: u32): void {
  const s = S.find(ctx);
  if (s != 0 && (S.flags(s) & S.F_T3) == 0) S.setT3(s, monoNow());
}

// @ts-ignore: decorator
@inline
export function onResponseHeaders(ctx: u32, eos: u32): void {
  const s = S.find(ctx);
  if (s == 0) return;
  const p = pluginFor(S.root(s));
  if (p === null) return;
  const t = monoNow();
  S.setT2(s, t);
  if (eos != 0) S.setT3(s, t);
  // :status and the first Server-Timing line from one serialized copy of the map: one host call
  // instead of two value reads (each of which also calls back into the VM's malloc for its copy:
  // proxy-wasm-cpp-host src/exports.cc copyToPointerSize / getPairs), which pays for reading
  // response.flags on every request in proxy_on_log.
  if (getHeaderPairs(MAP_RESPONSE_HEADERS, PAIRS)) scanResponseHeaders(s, p, PAIRS.ptr, PAIRS.len);
}

/** Finds :status and the first `server-timing` entry in proxy-wasm pairs [b, b+n) (Envoy keeps
 * header names lower-case; the first entry is what get_header_map_value would return). */
function scanResponseHeaders(s: usize, p: Plugin, b: usize, n: usize): void {
  if (n < 4) return;
  const count = <usize>load<u32>(b);
  if (count > (n - 4) >> 3) return;
  let off: usize = 4 + (count << 3);
  let status = false;
  let timing = false;
  for (let i: usize = 0; i < count; i++) {
    const kl = <usize>load<u32>(b + 4 + (i << 3));
    const vl = <usize>load<u32>(b + 8 + (i << 3));
    if (kl > n || vl > n || off + kl + vl + 2 > n) return;
    const kp = b + off;
    const vp = kp + kl + 1;
    off += kl + vl + 2;
    if (kl == textLen(H_STATUS) && !status && memory.compare(kp, textPtr(H_STATUS), kl) == 0) {
      status = true;
      S.setStatus(s, parseStatusCode(vp, vl));
    } else if (kl == textLen(H_SERVER_TIMING) && !timing && memory.compare(kp, textPtr(H_SERVER_TIMING), kl) == 0) {
      timing = true;
      const us = serverTimingAppUs(vp, vl, p.appMetric.ptr, p.appMetric.len);
      if (us >= 0) S.setApp(s, <u64>us);
    }
    if (status && timing) return;
  }
}

// @ts-ignore: decorator
@inline
export function onLog(ctx: u32): void {
  const s = S.find(ctx);
  if (s == 0) return;
  const own = pluginOf(S.root(s));
  const p = own !== null ? own : pluginFor(S.root(s));
  if (p === null) return;
  // A tier id belongs to its plugin's intern table: re-read it (readable in on_log) otherwise.
  if (own === null && (S.flags(s) & S.F_TIER) != 0) S.setTier(s, p.readTier());
  p.record(s);
}
