// One whole request through a worker VM with exact clock steps between Envoy's phases, for
// tests and benchmarks: request headers -> [request body] -> [request trailers] ->
// response headers -> [response body] -> [response trailers] -> on_log -> on_done/on_delete.
import { ManualClock } from "./clock.ts";
import { HostError } from "./errors.ts";
import type { HttpStream } from "./stream.ts";
import type { StreamInfo } from "./types.ts";
import type { Vm } from "./vm.ts";

export interface RequestSpec {
  info?: StreamInfo;
  requestHeaders: [string, string][];
  requestBody?: Uint8Array | string;
  requestTrailers?: [string, string][];
  responseHeaders: [string, string][];
  responseBody?: Uint8Array | string;
  responseTrailers?: [string, string][];
  /** Request headers -> end of the downstream request (body / trailers). Default 0. */
  requestMs?: number;
  /** End of request -> response headers reach the filter (upstream time). Default 0. */
  upstreamMs?: number;
  /** Response headers -> end of the response. Default 0. */
  responseMs?: number;
  /** End of response -> access log. Default 0. */
  logMs?: number;
}

const enc = new TextEncoder();

// Module-level helpers: closures created per call would cost an allocation (and tsx's
// keepNames wrapper) on every request.
function bytes(b: Uint8Array | string): Uint8Array {
  return typeof b === "string" ? enc.encode(b) : b;
}

function ms(x: number | undefined): number {
  return x ?? 0;
}

/**
 * The filter's local reply (proxy_send_local_response, or the fail-closed 503) as Envoy sends
 * it (envoy source/common/http/filter_manager.cc sendLocalReply, source/common/http/utility.cc
 * Utility::sendLocalReply): the decoder chain stops and the reply is encoded through the filter
 * chain, this filter included — :status, the extra headers, content-length and content-type
 * for a body — then the stream completes (access log, onDestroy). No upstream exchange.
 */
function finishWithLocalReply(s: HttpStream, clock: ManualClock, info: StreamInfo, spec: RequestSpec, defaultedLatency: boolean): HttpStream {
  const r = s.localReply!;
  if (defaultedLatency) delete info.backendLatencyNs; // no upstream request was made
  const headers: [string, string][] = [[":status", String(r.status)], ...r.headers];
  if (r.body.length > 0) {
    headers.push(["content-length", String(r.body.length)]);
    if (!r.headers.some(([k]) => k === "content-type")) headers.push(["content-type", "text/plain"]);
  }
  s.responseHeaders(headers, r.body.length === 0);
  if (r.body.length > 0) s.responseBody(r.body, true);
  clock.advanceMs(ms(spec.logMs));
  s.log();
  s.done();
  return s;
}

/**
 * Runs the request and returns its (ended) stream. Unless info.backendLatencyNs is given,
 * response.backend_latency is set to requestMs + upstreamMs + responseMs (first byte sent
 * upstream right after the request headers, last upstream byte at the end of the response).
 * A local reply during the request phase ends the request as Envoy does (finishWithLocalReply):
 * the spec's remaining request parts and its response are not used.
 */
export function runRequest(vm: Vm, clock: ManualClock, spec: RequestSpec): HttpStream {
  if (!(clock instanceof ManualClock)) throw new HostError("HOST_ERR_NOT_MANUAL_CLOCK", "runRequest needs a ManualClock");
  const info: StreamInfo = { ...spec.info };
  const defaultedLatency = info.backendLatencyNs === undefined;
  if (defaultedLatency) {
    info.backendLatencyNs = BigInt(Math.round((ms(spec.requestMs) + ms(spec.upstreamMs) + ms(spec.responseMs)) * 1e6));
  }
  const s = vm.stream(info);
  const reqEnds = spec.requestBody === undefined && spec.requestTrailers === undefined;
  s.requestHeaders(spec.requestHeaders, reqEnds);
  if (s.localReply) return finishWithLocalReply(s, clock, info, spec, defaultedLatency);
  clock.advanceMs(ms(spec.requestMs));
  if (spec.requestBody !== undefined) s.requestBody(bytes(spec.requestBody), spec.requestTrailers === undefined);
  if (s.localReply) return finishWithLocalReply(s, clock, info, spec, defaultedLatency);
  if (spec.requestTrailers !== undefined) s.requestTrailers(spec.requestTrailers);
  if (s.localReply) return finishWithLocalReply(s, clock, info, spec, defaultedLatency);
  clock.advanceMs(ms(spec.upstreamMs));
  const respEnds = spec.responseBody === undefined && spec.responseTrailers === undefined;
  s.responseHeaders(spec.responseHeaders, respEnds);
  clock.advanceMs(ms(spec.responseMs));
  if (spec.responseBody !== undefined) s.responseBody(bytes(spec.responseBody), spec.responseTrailers === undefined);
  if (spec.responseTrailers !== undefined) s.responseTrailers(spec.responseTrailers);
  clock.advanceMs(ms(spec.logMs));
  s.log();
  s.done();
  return s;
}
