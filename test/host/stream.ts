// One HTTP stream through the Wasm filter, in Envoy's order and with Envoy's header-pointer
// rules (envoy source/extensions/common/wasm/context.cc):
// - decodeHeaders: onCreate (proxy_on_context_create) then proxy_on_request_headers; the
//   request-header pointer is dropped when the callback returns Continue (request_headers_ =
//   nullptr), so later phases cannot read request headers; same for every other map/body.
// - encode*: skipped after a fail-closed local reply (failure_local_reply_sent_).
// - log(): runs proxy_on_log with the access-log copies of request headers, response headers
//   and response trailers (no request trailers); onCreate first if the stream never reached
//   the filter. Then onDestroy(): proxy_on_done, then proxy_on_delete whatever done returned.
// Status mapping and fail-open/closed from proxy-wasm-cpp-host src/context.cc (CHECK_FAIL_HTTP,
// convertVmCallResultToFilterHeadersStatus).
import { MapType, BufferType } from "./abi.ts";
import { HostError } from "./errors.ts";
import { HeaderMap } from "./header-map.ts";
import type { Pair } from "./pairs.ts";
import { buildUserTree, cachedLocalityMessage, type StreamView } from "./properties.ts";
import type { Message, PropertyValue } from "./property-value.ts";
import type { StreamInfo } from "./types.ts";
import type { RootCtx, StreamCtx, Vm } from "./vm.ts";

/** Envoy's FilterHeadersStatus / FilterDataStatus / FilterTrailersStatus values. */
export const FilterStatus = {
  Continue: 0,
  StopIteration: 1,
  StopAllIterationAndBuffer: 3,
  StopAllIterationAndWatermark: 4,
  // data
  StopIterationAndBuffer: 1,
  StopIterationAndWatermark: 2,
  StopIterationNoBuffer: 3,
} as const;

export interface LocalReply {
  status: number;
  body: Uint8Array;
  headers: Pair[];
  grpcStatus: number;
  details: string;
}

let nextConnectionId = 1;

export class HttpStream implements StreamView {
  readonly vm: Vm;
  readonly id: number;
  readonly info: StreamInfo;
  readonly ctx: StreamCtx;
  readonly userTree: Map<string, PropertyValue> | null;
  readonly connectionId: number;
  readonly startWallNs: bigint;
  readonly startMonoNs: bigint;
  completeMonoNs: bigint | undefined;
  responseStarted = false;
  statusCode: number | undefined;
  bytesReceived = 0;
  bytesSent = 0;
  logPhase = false;
  readonly filterState = new Map<string, Uint8Array>();

  /** Local reply the filter asked for (proxy_send_local_response) or a fail-closed 503. */
  localReply: LocalReply | null = null;
  /** proxy_continue_stream / proxy_close_stream requests, by stream type (0 request, 1 response, ...). */
  readonly continued: number[] = [];
  readonly closed: number[] = [];

  #reqHeaders: HeaderMap | null = null;
  #reqTrailers: HeaderMap | null = null;
  #respHeaders: HeaderMap | null = null;
  #respTrailers: HeaderMap | null = null;
  // Envoy's live pointers (request_headers_ etc.): non-null only while Envoy lets the filter see them.
  #reqHeadersLive = false;
  #reqTrailersLive = false;
  #respHeadersLive = false;
  #respTrailersLive = false;
  #reqBody: Uint8Array | null = null;
  #respBody: Uint8Array | null = null;
  #reqBodyLive = false;
  #respBodyLive = false;
  #bufferingReq = false;
  #bufferingResp = false;

  #created = false;
  #destroyed = false;
  #logged = false;
  #failureReplySent = false;

  constructor(vm: Vm, root: RootCtx, id: number, info: StreamInfo) {
    this.vm = vm;
    this.id = id;
    this.info = info;
    this.ctx = { kind: "stream", id, root, stream: this };
    this.userTree = buildUserTree(info.properties);
    this.connectionId = nextConnectionId++;
    this.startWallNs = vm.env.clock.wallNs();
    this.startMonoNs = vm.env.clock.monoNs();
  }

  // ---- StreamView ----

  #localitySrc: StreamInfo["upstreamLocality"];
  #locality: Message | undefined;

  /** upstream.locality, looked up once per upstreamLocality object (filters read it per request). */
  upstreamLocality(): Message | undefined {
    const l = this.info.upstreamLocality;
    if (l !== this.#localitySrc) {
      this.#localitySrc = l;
      this.#locality = l ? cachedLocalityMessage(l) : undefined;
    }
    return this.#locality;
  }

  readableRequestHeaders(): HeaderMap | null {
    return this.logPhase ? this.#reqHeaders : this.#reqHeadersLive ? this.#reqHeaders : null;
  }

  readableResponseHeaders(): HeaderMap | null {
    return this.logPhase ? this.#respHeaders : this.#respHeadersLive ? this.#respHeaders : null;
  }

  readableResponseTrailers(): HeaderMap | null {
    return this.logPhase ? this.#respTrailers : this.#respTrailersLive ? this.#respTrailers : null;
  }

  // ---- maps for the imports ----

  /** Envoy Context::getMap (add/replace/remove/set pairs/size). */
  mutableMap(type: number): HeaderMap | null {
    switch (type) {
      case MapType.REQUEST_HEADERS:
        return this.#reqHeadersLive ? this.#reqHeaders : null;
      case MapType.REQUEST_TRAILERS:
        return this.#reqTrailersLive ? this.#reqTrailers : null;
      case MapType.RESPONSE_HEADERS:
        return this.#respHeadersLive ? this.#respHeaders : null;
      case MapType.RESPONSE_TRAILERS:
        return this.#respTrailersLive ? this.#respTrailers : null;
    }
    return null;
  }

  /** Envoy Context::getConstMap (get value / get pairs): access-log copies in on_log. */
  constMap(type: number): HeaderMap | null {
    if (this.logPhase) {
      switch (type) {
        case MapType.REQUEST_HEADERS:
          return this.#reqHeaders;
        case MapType.RESPONSE_HEADERS:
          return this.#respHeaders;
        case MapType.RESPONSE_TRAILERS:
          return this.#respTrailers;
      }
      return null; // request trailers: "? request_trailers ?" in Context::log
    }
    return this.mutableMap(type);
  }

  body(type: number): Uint8Array {
    const b =
      type === BufferType.HTTP_REQUEST_BODY
        ? this.#reqBodyLive ? this.#reqBody : null
        : this.#respBodyLive ? this.#respBody : null;
    return b ?? new Uint8Array(0);
  }

  /** Envoy still holds this body (inside its callback, or after a Stop status): writable. */
  bodyHeld(type: number): boolean {
    return type === BufferType.HTTP_REQUEST_BODY ? this.#reqBodyLive : this.#respBodyLive;
  }

  setBody(type: number, data: Uint8Array): void {
    if (type === BufferType.HTTP_REQUEST_BODY) this.#reqBody = data;
    else this.#respBody = data;
  }

  /** proxy_continue_stream: Envoy clears the request pointers afterwards (for either direction). */
  continueStream(type: number): void {
    this.continued.push(type);
    this.#reqHeadersLive = false;
    this.#reqTrailersLive = false;
    this.#reqBodyLive = false;
  }

  // ---- the filter callbacks ----

  #create(): void {
    if (this.#created) return;
    this.#created = true;
    this.vm.contexts.set(this.id, this.ctx);
    // ContextBase::onCreate: proxy_on_context_create(id, root id)
    this.vm.invoke(this.ctx, this.vm.g.on_context_create, "proxy_on_context_create", this.ctx.root.id);
  }

  /**
   * CHECK_FAIL_HTTP: on a failed VM, fail-open lets the stream continue; fail-closed sends a 503
   * local reply ("wasm_fail_stream", envoy Context::failStream) and stops iteration.
   */
  #failed(stop: number): number | null {
    if (!this.vm.failed) return null;
    if (this.vm.env.failOpen) return FilterStatus.Continue;
    if (!this.#failureReplySent) {
      this.#failureReplySent = true;
      this.localReply = { status: 503, body: new Uint8Array(0), headers: [], grpcStatus: 14, details: "wasm_fail_stream" };
    }
    return stop;
  }

  #order(what: string): void {
    if (this.#destroyed) throw new HostError("HOST_ERR_STREAM_ORDER", `${what} after done() on stream ${this.id}`);
    if (this.#logged && what !== "log") throw new HostError("HOST_ERR_STREAM_ORDER", `${what} after log() on stream ${this.id}`);
  }

  // cpp-host src/context.cc convertVmCallResultTo*Status: after proxy_send_local_response
  // (stopNextIteration) or an out-of-range value the stream stops; StopIteration on headers
  // always becomes StopAllIterationAndWatermark.
  #headersResult(r: number): number {
    if (this.vm.takeStopNextIteration() || r > FilterStatus.StopAllIterationAndWatermark || r === FilterStatus.StopIteration) {
      return FilterStatus.StopAllIterationAndWatermark;
    }
    return r;
  }

  #dataResult(r: number): number {
    if (this.vm.takeStopNextIteration() || r > FilterStatus.StopIterationNoBuffer) return FilterStatus.StopIterationNoBuffer;
    return r;
  }

  #trailersResult(r: number): number {
    if (this.vm.takeStopNextIteration() || r > FilterStatus.StopIteration) return FilterStatus.StopIteration;
    return r;
  }

  requestHeaders(h: readonly (readonly [string, string])[], endOfStream: boolean): number {
    this.#order("requestHeaders");
    this.#create();
    this.#reqHeaders = new HeaderMap(h);
    const pre = this.#failed(FilterStatus.StopAllIterationAndWatermark);
    if (pre !== null) return pre;
    this.#reqHeadersLive = true;
    let r = this.vm.invoke(this.ctx, this.vm.g.on_request_headers, "proxy_on_request_headers", this.#reqHeaders.size, endOfStream ? 1 : 0);
    const post = this.#failed(FilterStatus.StopAllIterationAndWatermark);
    if (post !== null || r < 0) r = post ?? FilterStatus.Continue;
    else r = this.#headersResult(r);
    if (r === FilterStatus.Continue) this.#reqHeadersLive = false;
    return r;
  }

  requestBody(chunk: Uint8Array, endOfStream: boolean): number {
    this.#order("requestBody");
    if (!this.#created) return FilterStatus.Continue;
    this.bytesReceived += chunk.length;
    this.#reqBody = this.#bufferingReq && this.#reqBody ? concat(this.#reqBody, chunk) : chunk;
    this.#reqBodyLive = true;
    const pre = this.#failed(FilterStatus.StopIterationNoBuffer);
    if (pre !== null) return pre;
    let r = this.vm.invoke(this.ctx, this.vm.g.on_request_body, "proxy_on_request_body", this.#reqBody.length, endOfStream ? 1 : 0);
    const post = this.#failed(FilterStatus.StopIterationNoBuffer);
    if (post !== null || r < 0) r = post ?? FilterStatus.Continue;
    else r = this.#dataResult(r);
    this.#bufferingReq = r === FilterStatus.StopIterationAndBuffer;
    if (r === FilterStatus.Continue) this.#reqBodyLive = false;
    return r;
  }

  requestTrailers(t: readonly (readonly [string, string])[]): number {
    this.#order("requestTrailers");
    if (!this.#created) return FilterStatus.Continue;
    this.#reqTrailers = new HeaderMap(t);
    const pre = this.#failed(FilterStatus.StopIteration);
    if (pre !== null) return pre;
    this.#reqTrailersLive = true;
    let r = this.vm.invoke(this.ctx, this.vm.g.on_request_trailers, "proxy_on_request_trailers", this.#reqTrailers.size);
    const post = this.#failed(FilterStatus.StopIteration);
    if (post !== null || r < 0) r = post ?? FilterStatus.Continue;
    else r = this.#trailersResult(r);
    if (r === FilterStatus.Continue) this.#reqTrailersLive = false;
    return r;
  }

  responseHeaders(h: readonly (readonly [string, string])[], endOfStream: boolean): number {
    this.#order("responseHeaders");
    this.#respHeaders = new HeaderMap(h);
    this.responseStarted = true;
    const status = this.#respHeaders.get(":status");
    if (status !== undefined && /^\d+$/.test(status)) this.statusCode = Number(status);
    if (!this.#created || this.#failureReplySent) return FilterStatus.Continue;
    const pre = this.#failed(FilterStatus.StopAllIterationAndWatermark);
    if (pre !== null) return pre;
    this.#respHeadersLive = true;
    let r = this.vm.invoke(this.ctx, this.vm.g.on_response_headers, "proxy_on_response_headers", this.#respHeaders.size, endOfStream ? 1 : 0);
    const post = this.#failed(FilterStatus.StopAllIterationAndWatermark);
    if (post !== null || r < 0) r = post ?? FilterStatus.Continue;
    else r = this.#headersResult(r);
    if (r === FilterStatus.Continue) this.#respHeadersLive = false;
    return r;
  }

  responseBody(chunk: Uint8Array, endOfStream: boolean): number {
    this.#order("responseBody");
    if (!this.#created || this.#failureReplySent) return FilterStatus.Continue;
    this.bytesSent += chunk.length;
    this.#respBody = this.#bufferingResp && this.#respBody ? concat(this.#respBody, chunk) : chunk;
    this.#respBodyLive = true;
    const pre = this.#failed(FilterStatus.StopIterationNoBuffer);
    if (pre !== null) return pre;
    let r = this.vm.invoke(this.ctx, this.vm.g.on_response_body, "proxy_on_response_body", this.#respBody.length, endOfStream ? 1 : 0);
    const post = this.#failed(FilterStatus.StopIterationNoBuffer);
    if (post !== null || r < 0) r = post ?? FilterStatus.Continue;
    else r = this.#dataResult(r);
    this.#bufferingResp = r === FilterStatus.StopIterationAndBuffer;
    if (r === FilterStatus.Continue) this.#respBodyLive = false;
    return r;
  }

  responseTrailers(t: readonly (readonly [string, string])[]): number {
    this.#order("responseTrailers");
    this.#respTrailers = new HeaderMap(t);
    if (!this.#created || this.#failureReplySent) return FilterStatus.Continue;
    const pre = this.#failed(FilterStatus.StopIteration);
    if (pre !== null) return pre;
    this.#respTrailersLive = true;
    let r = this.vm.invoke(this.ctx, this.vm.g.on_response_trailers, "proxy_on_response_trailers", this.#respTrailers.size);
    const post = this.#failed(FilterStatus.StopIteration);
    if (post !== null || r < 0) r = post ?? FilterStatus.Continue;
    else r = this.#trailersResult(r);
    if (r === FilterStatus.Continue) this.#respTrailersLive = false;
    return r;
  }

  /**
   * proxy_on_log (Envoy: access-log hook, before onDestroy). Runs once. `requestHeaders` gives
   * the access log's request headers for a stream whose request never reached the filter
   * (e.g. an earlier filter's local reply); otherwise the filter's own map is used.
   */
  log(requestHeaders?: readonly (readonly [string, string])[]): void {
    this.#order("log");
    if (this.#logged) return;
    this.#logged = true;
    if (this.#reqHeaders === null && requestHeaders) this.#reqHeaders = new HeaderMap(requestHeaders);
    this.completeMonoNs = this.vm.env.clock.monoNs();
    this.#create();
    this.logPhase = true;
    try {
      this.vm.invoke(this.ctx, this.vm.g.on_log, "proxy_on_log");
    } finally {
      this.logPhase = false;
    }
  }

  /** onDestroy: proxy_on_done then proxy_on_delete (done's result ignored for streams). */
  done(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    if (!this.#created) return;
    this.vm.invoke(this.ctx, this.vm.g.on_done, "proxy_on_done");
    this.vm.invoke(this.ctx, this.vm.g.on_delete, "proxy_on_delete");
    this.vm.contexts.delete(this.id);
  }

  /** log() then done(), as Envoy ends every HTTP stream. */
  end(): void {
    this.log();
    this.done();
  }

  get requestHeadersOut(): Pair[] {
    return this.#reqHeaders ? this.#reqHeaders.toPairs() : [];
  }

  get responseHeadersOut(): Pair[] {
    return this.#respHeaders ? this.#respHeaders.toPairs() : [];
  }

  get requestTrailersOut(): Pair[] {
    return this.#reqTrailers ? this.#reqTrailers.toPairs() : [];
  }

  get responseTrailersOut(): Pair[] {
    return this.#respTrailers ? this.#respTrailers.toPairs() : [];
  }

  /** The last body chunk as the filter left it (what Envoy forwards). */
  get requestBodyOut(): Uint8Array {
    return this.#reqBody ?? new Uint8Array(0);
  }

  get responseBodyOut(): Uint8Array {
    return this.#respBody ?? new Uint8Array(0);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
