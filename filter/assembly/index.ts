// meshlat filter: the proxy-wasm ABI 0.2.1 entry points, written lean on purpose (no SDK
// Context objects or Maps per stream; the SDK's own root-context proxy_on_done traps on an
// in-place configuration update, sdk-as-notes). The SDK still provides the import
// declarations and (as fallback behind our arena) malloc.
import { proxy_get_buffer_bytes } from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import {
  resetScratch, monoNow, getHeader, getHeaderPairs, valPtr, valLen, Bytes, logLine,
  MAP_HTTP_CALL_RESPONSE_HEADERS, MAP_RESPONSE_HEADERS, BUFFER_PLUGIN_CONFIGURATION,
  LOG_ERROR, LOG_WARN, WASM_OK,
} from "./abi";
import { parseConfig } from "./config";
import { Plugin } from "./plugin";
import { drainInto } from "./flush";
import { serverTimingAppUs } from "./timing";
import * as S from "./slots";

export { malloc } from "./abi";
// The ABI marker is defined here: re-exporting the SDK's drags its runtime module's top level
// (context Maps built in _start) into the module, +1.7 KB for an empty function.
export function proxy_abi_version_0_2_1(): void {}

const H_STATUS = new Bytes(":status");
const H_SERVER_TIMING = new Bytes("server-timing");
const MAX_ROOTS = 8;
const rootIds = new StaticArray<u32>(MAX_ROOTS);
const plugins = new StaticArray<Plugin | null>(MAX_ROOTS);
let latest: Plugin | null = null;
const CFG_OUT = memory.data(16, 8);

function rootIndex(root: u32): i32 {
  for (let i = 0; i < MAX_ROOTS; i++) if (unchecked(rootIds[i]) == root) return i;
  return -1;
}

function pluginOf(root: u32): Plugin | null {
  const i = rootIndex(root);
  if (i < 0) return null;
  const p = unchecked(plugins[i]);
  return p !== null && !p.done ? p : null;
}

/** The plugin a stream belongs to; streams of a root context that went away use the newest. */
// @ts-ignore: decorator
@inline
function pluginFor(s: usize): Plugin | null {
  const p = pluginOf(S.root(s));
  return p !== null ? p : latest;
}

function registerRoot(root: u32): i32 {
  let i = rootIndex(root);
  if (i >= 0) return i;
  i = rootIndex(0);
  if (i < 0) return -1;
  unchecked(rootIds[i] = root);
  unchecked(plugins[i] = null);
  return i;
}

export function proxy_on_vm_start(root: u32, size: u32): u32 { return 1; }

export function proxy_on_context_create(ctx: u32, parent: u32): void {
  resetScratch();
  if (parent == 0) {
    if (registerRoot(ctx) < 0) logLine(LOG_ERROR, "FLT_ERR_TOO_MANY_ROOTS: more than 8 root contexts in one VM");
    return;
  }
  S.open(ctx, parent);
}

export function proxy_on_configure(root: u32, size: u32): u32 {
  resetScratch();
  store<usize>(CFG_OUT, 0);
  store<usize>(CFG_OUT + 8, 0);
  let p: usize = 0;
  let n: usize = 0;
  if (size > 0) {
    if (proxy_get_buffer_bytes(BUFFER_PLUGIN_CONFIGURATION, 0, size, CFG_OUT, CFG_OUT + 8) == WASM_OK) {
      p = load<usize>(CFG_OUT);
      n = load<usize>(CFG_OUT + 8);
    }
  }
  const res = parseConfig(p, n);
  for (let i = 0; i < res.warnings.length; i++) logLine(LOG_WARN, res.warnings[i]);
  const config = res.config;
  if (config === null) {
    logLine(LOG_ERROR, res.errorLine());
    return 0;
  }
  const i = registerRoot(root);
  if (i < 0) { logLine(LOG_ERROR, "FLT_ERR_TOO_MANY_ROOTS: more than 8 root contexts in one VM"); return 0; }
  const old = unchecked(plugins[i]);
  const plugin = new Plugin(root, config);
  // Configure again on a running root (cpp-host WasmBase::start reuses the root context of the
  // same plugin key): its open window becomes a batch first, so no recorded request is lost.
  if (old !== null) { old.closeWindow(); drainInto(old.outbox, plugin.outbox); old.free(); }
  unchecked(plugins[i] = plugin);
  latest = plugin;
  return 1;
}

export function proxy_on_request_headers(ctx: u32, n: u32, eos: u32): i32 {
  resetScratch();
  const s = S.find(ctx);
  if (s == 0) return 0;
  const p = pluginFor(s);
  if (p === null) return 0;
  const t = monoNow();
  S.setT0(s, t);
  if (eos != 0) S.setT1(s, t); // t1 = t0: no second clock read
  S.setTier(s, p.readTier());
  return 0;
}

/** t1, the end of the downstream request: stamped once, by whichever phase ends the stream. */
function endRequest(ctx: u32): void {
  const s = S.find(ctx);
  if (s != 0 && (S.flags(s) & S.F_T1) == 0) S.setT1(s, monoNow());
}

/** t3, the last response byte: stamped once, by whichever phase ends the stream. */
function endResponse(ctx: u32): void {
  const s = S.find(ctx);
  if (s != 0 && (S.flags(s) & S.F_T3) == 0) S.setT3(s, monoNow());
}

export function proxy_on_request_body(ctx: u32, len: u32, eos: u32): i32 {
  if (eos != 0) endRequest(ctx);
  return 0;
}

export function proxy_on_request_trailers(ctx: u32, n: u32): i32 {
  endRequest(ctx);
  return 0;
}

export function proxy_on_response_headers(ctx: u32, n: u32, eos: u32): i32 {
  resetScratch();
  const s = S.find(ctx);
  if (s == 0) return 0;
  const p = pluginFor(s);
  if (p === null) return 0;
  const t = monoNow();
  S.setT2(s, t);
  if (eos != 0) S.setT3(s, t);
  // :status and the first Server-Timing line from one serialized copy of the map: one host call
  // instead of two value reads (each of which also calls back into the VM's malloc for its copy:
  // proxy-wasm-cpp-host src/exports.cc copyToPointerSize / getPairs), which pays for reading
  // response.flags on every request in proxy_on_log.
  if (getHeaderPairs(MAP_RESPONSE_HEADERS)) scanResponseHeaders(s, p, valPtr, valLen);
  return 0;
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
    if (kl == H_STATUS.len && !status && memory.compare(kp, H_STATUS.ptr, kl) == 0) {
      status = true;
      S.setStatus(s, parseStatus(vp, vl));
    } else if (kl == H_SERVER_TIMING.len && !timing && memory.compare(kp, H_SERVER_TIMING.ptr, kl) == 0) {
      timing = true;
      const us = serverTimingAppUs(vp, vl, p.appMetric.ptr, p.appMetric.len);
      if (us >= 0) S.setApp(s, <u64>us);
    }
    if (status && timing) return;
  }
}

/** A 3-digit status code, 0 when malformed. */
function parseStatus(p: usize, n: usize): u32 {
  if (n != 3) return 0;
  let code: u32 = 0;
  for (let k: usize = 0; k < 3; k++) {
    const c = <u32>load<u8>(p + k);
    if (c < 0x30 || c > 0x39) return 0;
    code = code * 10 + c - 0x30;
  }
  return code;
}

export function proxy_on_response_body(ctx: u32, len: u32, eos: u32): i32 {
  if (eos != 0) endResponse(ctx);
  return 0;
}

export function proxy_on_response_trailers(ctx: u32, n: u32): i32 {
  endResponse(ctx);
  return 0;
}

export function proxy_on_log(ctx: u32): void {
  resetScratch();
  const s = S.find(ctx);
  if (s == 0) return;
  const own = pluginOf(S.root(s));
  const p = own !== null ? own : latest;
  if (p === null) return;
  // A tier id belongs to its plugin's intern table: re-read it (readable in on_log) otherwise.
  if (own === null && (S.flags(s) & S.F_TIER) != 0) S.setTier(s, p.readTier());
  p.record(s);
}

export function proxy_on_done(ctx: u32): u32 {
  resetScratch();
  const i = rootIndex(ctx);
  if (i >= 0) {
    const p = unchecked(plugins[i]);
    if (p !== null && !p.done) {
      p.done = true;
      if (latest === p) latest = newestPlugin();
      // Hand this root's unsent data to the newest other root: a configuration update must
      // not lose the last window (its batches keep their own vm id and seq).
      const to = latest;
      if (to !== null) {
        p.closeWindow();
        drainInto(p.outbox, to.outbox);
      }
    }
  }
  return 1;
}

function newestPlugin(): Plugin | null {
  let best: Plugin | null = null;
  for (let i = 0; i < MAX_ROOTS; i++) {
    const q = unchecked(plugins[i]);
    if (q !== null && !q.done && (best === null || q.rootId > best.rootId)) best = q;
  }
  return best;
}

export function proxy_on_delete(ctx: u32): void {
  const i = rootIndex(ctx);
  if (i >= 0) {
    const p = unchecked(plugins[i]);
    unchecked(plugins[i] = null);
    unchecked(rootIds[i] = 0);
    if (p !== null) {
      if (latest === p) { p.done = true; latest = newestPlugin(); }
      p.free();
    }
    return;
  }
  S.close(ctx);
}

export function proxy_on_tick(root: u32): void {
  resetScratch();
  const p = pluginOf(root);
  if (p !== null) p.tick();
}

export function proxy_on_http_call_response(root: u32, token: u32, nHeaders: u32, bodySize: u32, nTrailers: u32): void {
  resetScratch();
  const p = pluginOf(root);
  if (p === null) return;
  let status: u32 = 0;
  if (nHeaders > 0 && getHeader(MAP_HTTP_CALL_RESPONSE_HEADERS, H_STATUS)) status = parseStatus(valPtr, valLen);
  p.outbox.onResponse(token, status);
}
