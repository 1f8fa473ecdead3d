// meshlat filter: the proxy-wasm ABI 0.2.1 entry points, and nothing else: each resets the
// scratch arena and hands over to the module that owns the concern (roots.ts, stream.ts,
// slots.ts, the plugin). Written lean on purpose (no SDK Context objects or Maps per stream; the
// SDK's own proxy_on_done traps for a root context on an in-place configuration update: its
// getBaseContext lookup misses, @gcoredev/proxy-wasm-sdk-as assembly/exports.ts).
// The SDK still provides the import declarations and (as fallback behind our arena) malloc.
import { proxy_get_buffer_bytes } from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import {
  resetScratch, getHeader, H_STATUS, MAP_HTTP_CALL_RESPONSE_HEADERS,
  BUFFER_PLUGIN_CONFIGURATION, LOG_ERROR, WASM_OK,
} from "./abi";
import * as L from "./log-line";
import { parseConfig } from "./config";
import { parseDelaySeconds, parseStatusCode } from "./lex";
import { proxy_done } from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { configureRoot, deleteRoot, drainingPlugin, pluginOf, registerRoot, rootDone } from "./roots";
import { Slice, SLICE_BYTES } from "./slice";
import { endRequest, endResponse, onLog, onRequestHeaders, onResponseHeaders } from "./stream";
import * as S from "./slots";

export { malloc } from "./abi";
// The ABI marker is defined here: re-exporting the SDK's drags its runtime module's top level
// (context Maps built in _start) into the module, +1.7 KB for an empty function.
export function proxy_abi_version_0_2_1(): void {}

const CFG_OUT = memory.data(16, 8);
const H_RETRY_AFTER = staticText("retry-after");
const VAL = changetype<Slice>(memory.data(SLICE_BYTES, 8));

export function proxy_on_vm_start(root: u32, size: u32): u32 { return 1; }

export function proxy_on_context_create(ctx: u32, parent: u32): void {
  resetScratch();
  if (parent == 0) registerRoot(ctx);
  else S.open(ctx, parent);
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
  const config = parseConfig(p, n);
  if (config === null) {
    L.emit(LOG_ERROR); // parseConfig built the error line
    return 0;
  }
  return configureRoot(root, config) ? 1 : 0;
}

export function proxy_on_request_headers(ctx: u32, n: u32, eos: u32): i32 {
  resetScratch();
  onRequestHeaders(ctx, eos);
  return 0;
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
  onResponseHeaders(ctx, eos);
  return 0;
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
  onLog(ctx);
}

export function proxy_on_done(ctx: u32): u32 {
  resetScratch();
  return rootDone(ctx) ? 1 : 0;
}

export function proxy_on_delete(ctx: u32): void {
  if (!deleteRoot(ctx)) S.close(ctx);
}

export function proxy_on_tick(root: u32): void {
  resetScratch();
  const p = pluginOf(root);
  if (p !== null) p.tick();
}

export function proxy_on_http_call_response(root: u32, token: u32, nHeaders: u32, bodySize: u32, nTrailers: u32): void {
  resetScratch();
  let p = pluginOf(root);
  const draining = p === null ? drainingPlugin(root) : null;
  if (draining !== null) p = draining;
  if (p === null) return;
  let status: u32 = 0;
  if (nHeaders > 0 && getHeader(MAP_HTTP_CALL_RESPONSE_HEADERS, H_STATUS, VAL)) status = parseStatusCode(VAL.ptr, VAL.len);
  // Retry-After comes with the aggregator's 429 (shedding) and 503 (draining). Envoy serves the
  // answer's headers as map type 6 while this callback runs (envoy source/extensions/common/
  // wasm/context.cc Context::getMap, HttpCallResponseHeaders -> http_call_response_).
  let retryAfterS: i64 = -1;
  if ((status == 429 || status == 503) && getHeader(MAP_HTTP_CALL_RESPONSE_HEADERS, H_RETRY_AFTER, VAL)) {
    retryAfterS = parseDelaySeconds(VAL.ptr, VAL.len);
  }
  p.outbox.onResponse(token, status, retryAfterS);
  // The last POST of a root that went away answered (and nothing more is on the wire): done.
  if (draining !== null && !draining.outbox.busy) { draining.draining = false; proxy_done(); }
}
