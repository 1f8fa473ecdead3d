// The `env` host functions of proxy-wasm ABI 0.2.1 as Envoy implements them: argument
// handling and the memory protocol from proxy-wasm/proxy-wasm-cpp-host src/exports.cc, the
// behaviour behind them from envoyproxy/envoy source/extensions/common/wasm/context.cc
// (header maps, buffers, properties, http calls, metrics) and cpp-host src/context.cc,
// src/shared_data.cc, src/shared_queue.cc. Every function returns a WasmResult (abi.ts Status).
import { BUFFER_TYPE_MAX, LogLevel, MAP_TYPE_MAX, MetricType, Status } from "./abi.ts";
import { HeaderMap } from "./header-map.ts";
import { decodePairs, type Pair } from "./pairs.ts";
import { resolveProperty } from "./properties.ts";
import { serializeValue } from "./property-value.ts";
import type { HttpCallResult } from "./types.ts";
import type { CallResponse, MetricState, PendingCall, RootCtx, Vm } from "./vm.ts";

const TIMEOUT_BODY = new TextEncoder().encode("upstream request timeout");
const EMPTY = new Uint8Array(0);
// The router's local-reply bodies (envoy source/common/router/router.cc).
const UNAVAILABLE_BODY = {
  no_healthy_upstream: "no healthy upstream",
  overflow: "upstream connect error or disconnect/reset before headers. reset reason: overflow",
} as const;
const STREAM_TYPE_MAX = 3; // WasmStreamType: Request, Response, Downstream, Upstream

function rootOf(vm: Vm): RootCtx | null {
  const c = vm.ctx();
  return c === null ? null : c.kind === "root" ? c : c.root;
}

/** Writes pairs straight into one guest allocation (exports.cc getPairs / marshalPairs). */
function pairsOut(vm: Vm, pairs: readonly Pair[], ptrPtr: number, sizePtr: number): boolean {
  if (pairs.length === 0) return vm.copyOut("", ptrPtr, sizePtr);
  let size = 4;
  const lens = new Array<number>(pairs.length * 2);
  for (let i = 0; i < pairs.length; i++) {
    const kl = Buffer.byteLength(pairs[i]![0]);
    const vl = Buffer.byteLength(pairs[i]![1]);
    lens[2 * i] = kl;
    lens[2 * i + 1] = vl;
    size += 8 + kl + vl + 2;
  }
  const ptr = vm.alloc(size);
  if (ptr === 0 || !vm.inBounds(ptr, size)) return false;
  const dv = vm.dv;
  const u8 = vm.u8;
  dv.setUint32(ptr, pairs.length, true);
  let h = ptr + 4;
  let b = ptr + 4 + 8 * pairs.length;
  for (let i = 0; i < pairs.length; i++) {
    const kl = lens[2 * i]!;
    const vl = lens[2 * i + 1]!;
    dv.setUint32(h, kl, true);
    dv.setUint32(h + 4, vl, true);
    h += 8;
    vm.nodeBuf.write(pairs[i]![0], b, kl, "utf8");
    b += kl;
    u8[b++] = 0;
    vm.nodeBuf.write(pairs[i]![1], b, vl, "utf8");
    b += vl;
    u8[b++] = 0;
  }
  return vm.setU32(ptrPtr, ptr) && vm.setU32(sizePtr, size);
}

function toCallResponse(r: HttpCallResult): CallResponse | null {
  if ("reset" in r) return null;
  if ("unavailable" in r) {
    // Known only after the request started (e.g. the connection pool overflowed once a
    // connection attempt failed): the router's 503 local reply arrives through onSuccess.
    const body = new TextEncoder().encode(UNAVAILABLE_BODY[r.unavailable]);
    return {
      headers: new HeaderMap([[":status", "503"], ["content-length", String(body.length)], ["content-type", "text/plain"]]),
      body,
      trailers: null,
    };
  }
  const body = r.body === undefined ? new Uint8Array(0) : typeof r.body === "string" ? new TextEncoder().encode(r.body) : r.body;
  return {
    headers: new HeaderMap(r.headers),
    body,
    trailers: r.trailers && r.trailers.length ? new HeaderMap(r.trailers) : null,
  };
}

export function envImports(vm: Vm): Record<string, (...args: never[]) => unknown> {
  const metricTypes = ["counter", "gauge", "histogram"] as const;

  return {
    pthread_equal(a: number, b: number): number {
      return a === b ? 1 : 0;
    },
    emscripten_notify_memory_growth(_idx: number): void {
      vm.refresh();
    },

    // ---- logging (envoy context.cc Context::log / getLogLevel) ----
    proxy_log(level: number, ptr: number, size: number): number {
      if (level >>> 0 > LogLevel.critical) return Status.BAD_ARGUMENT;
      const msg = vm.str(ptr, size);
      if (msg === null) return Status.INVALID_MEMORY_ACCESS;
      vm.emit(level, msg, "proxy_log");
      return Status.OK;
    },
    proxy_get_log_level(levelPtr: number): number {
      return vm.setU32(levelPtr, vm.logLevelNum) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_get_status(codePtr: number, msgPtrPtr: number, msgSizePtr: number): number {
      const root = rootOf(vm); // exports.cc get_status: contextOrEffectiveContext()->root_context()
      if (!vm.setU32(codePtr, root ? root.statusCode : 0)) return Status.INVALID_MEMORY_ACCESS;
      return vm.copyOut(root ? root.statusMessage : "", msgPtrPtr, msgSizePtr) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },

    // ---- properties ----
    proxy_get_property(pathPtr: number, pathSize: number, valuePtrPtr: number, valueSizePtr: number): number {
      const path = vm.cachedStr(pathPtr, pathSize);
      if (path === null) return Status.INVALID_MEMORY_ACCESS;
      const c = vm.ctx();
      if (!c) return Status.NOT_FOUND;
      const root = c.kind === "root" ? c : c.root;
      const v = resolveProperty(root.identity, c.kind === "stream" ? c.stream : null, path);
      if (v === undefined) return Status.NOT_FOUND;
      if (typeof v === "string") return vm.copyOut(v, valuePtrPtr, valueSizePtr) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
      const bytes = serializeValue(v);
      if (typeof bytes === "number") return bytes;
      return vm.copyOut(bytes, valuePtrPtr, valueSizePtr) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_set_property(pathPtr: number, pathSize: number, valuePtr: number, valueSize: number): number {
      const path = vm.str(pathPtr, pathSize);
      const value = vm.bytes(valuePtr, valueSize);
      if (path === null || value === null) return Status.INVALID_MEMORY_ACCESS;
      const c = vm.ctx();
      // Context::setProperty: filter state "wasm.<path>" of the stream; no stream info -> NOT_FOUND.
      if (!c || c.kind !== "stream") return Status.NOT_FOUND;
      c.stream.filterState.set(`wasm.${path}`, value);
      return Status.OK;
    },

    // ---- stream control ----
    proxy_send_local_response(
      code: number,
      detailsPtr: number,
      detailsSize: number,
      bodyPtr: number,
      bodySize: number,
      hdrPtr: number,
      hdrSize: number,
      grpcStatus: number,
    ): number {
      const details = vm.str(detailsPtr, detailsSize);
      const body = vm.bytes(bodyPtr, bodySize);
      const hdrs = vm.bytes(hdrPtr, hdrSize);
      if (details === null || body === null || hdrs === null) return Status.INVALID_MEMORY_ACCESS;
      const c = vm.ctx();
      if (c && c.kind === "stream") {
        c.stream.localReply = {
          status: code >>> 0,
          body,
          headers: decodePairs(hdrs).map(([k, v]) => [k.toLowerCase(), v]),
          grpcStatus: grpcStatus | 0,
          details: details.replace(/\s/g, "_"), // StringUtil::replaceAllEmptySpace
        };
      }
      vm.stopNextIteration = true; // exports.cc send_local_response
      return Status.OK;
    },
    proxy_continue_stream(type: number): number {
      if (type >>> 0 > STREAM_TYPE_MAX) return Status.BAD_ARGUMENT;
      if (type === 3) return Status.UNIMPLEMENTED; // Upstream
      const c = vm.ctx();
      if (c && c.kind === "stream" && type <= 1) c.stream.continueStream(type);
      return Status.OK;
    },
    proxy_close_stream(type: number): number {
      if (type >>> 0 > STREAM_TYPE_MAX) return Status.BAD_ARGUMENT;
      const c = vm.ctx();
      if (c && c.kind === "stream") c.stream.closed.push(type);
      return Status.OK;
    },
    proxy_set_effective_context(id: number): number {
      const c = vm.contexts.get(id >>> 0);
      if (!c) return Status.BAD_ARGUMENT;
      vm.effective = c;
      return Status.OK;
    },
    proxy_done(): number {
      // cpp-host WasmBase::done: only a root context waiting in pending_done_; deletion
      // (proxy_on_delete) runs as an after-VM-call action, right when this callback returns.
      const c = vm.ctx();
      if (!c || c.kind !== "root" || !c.pendingDone || c.deleteQueued) return Status.NOT_FOUND;
      c.deleteQueued = true;
      vm.afterCall(() => vm.deleteRoot(c));
      return Status.OK;
    },
    proxy_call_foreign_function(): number {
      return Status.NOT_FOUND; // compress/uncompress/declare_property/... not modelled
    },

    // ---- header maps (envoy context.cc getMap / getConstMap) ----
    proxy_get_header_map_value(type: number, keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number): number {
      if (type >>> 0 > MAP_TYPE_MAX) return Status.BAD_ARGUMENT;
      const key = vm.cachedStr(keyPtr, keySize);
      if (key === null) return Status.INVALID_MEMORY_ACCESS;
      const map = vm.constMap(type);
      // Not currently available: BAD_ARGUMENT, but NOT_FOUND in the access-log phase (ABI 0.2.x).
      if (!map) return vm.inLogPhase() ? Status.NOT_FOUND : Status.BAD_ARGUMENT;
      const v = map.get(key);
      if (v === undefined) return Status.NOT_FOUND;
      return vm.copyOut(v, valuePtrPtr, valueSizePtr) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_get_header_map_pairs(type: number, ptrPtr: number, sizePtr: number): number {
      if (type >>> 0 > MAP_TYPE_MAX) return Status.BAD_ARGUMENT;
      // Context::getHeaderMapPairs: an unavailable map is simply empty (OK, ptr 0 / size 0).
      const map = vm.constMap(type);
      return pairsOut(vm, map ? map.entries : [], ptrPtr, sizePtr) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_add_header_map_value(type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number): number {
      if (type >>> 0 > MAP_TYPE_MAX) return Status.BAD_ARGUMENT;
      const key = vm.str(keyPtr, keySize);
      const value = vm.str(valuePtr, valueSize);
      if (key === null || value === null) return Status.INVALID_MEMORY_ACCESS;
      const map = vm.mutableMap(type);
      if (!map) return Status.BAD_ARGUMENT;
      map.add(key, value);
      return Status.OK;
    },
    proxy_replace_header_map_value(type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number): number {
      if (type >>> 0 > MAP_TYPE_MAX) return Status.BAD_ARGUMENT;
      const key = vm.str(keyPtr, keySize);
      const value = vm.str(valuePtr, valueSize);
      if (key === null || value === null) return Status.INVALID_MEMORY_ACCESS;
      const map = vm.mutableMap(type);
      if (!map) return Status.BAD_ARGUMENT;
      map.replace(key, value);
      return Status.OK;
    },
    proxy_remove_header_map_value(type: number, keyPtr: number, keySize: number): number {
      if (type >>> 0 > MAP_TYPE_MAX) return Status.BAD_ARGUMENT;
      const key = vm.str(keyPtr, keySize);
      if (key === null) return Status.INVALID_MEMORY_ACCESS;
      const map = vm.mutableMap(type);
      if (!map) return Status.BAD_ARGUMENT;
      map.remove(key);
      return Status.OK;
    },
    proxy_set_header_map_pairs(type: number, ptr: number, size: number): number {
      if (type >>> 0 > MAP_TYPE_MAX) return Status.BAD_ARGUMENT;
      const data = vm.bytes(ptr, size);
      if (data === null) return Status.INVALID_MEMORY_ACCESS;
      const map = vm.mutableMap(type);
      if (!map) return Status.BAD_ARGUMENT;
      map.setPairs(decodePairs(data));
      return Status.OK;
    },
    proxy_get_header_map_size(type: number, sizePtr: number): number {
      if (type >>> 0 > MAP_TYPE_MAX) return Status.BAD_ARGUMENT;
      const map = vm.mutableMap(type);
      if (!map) return Status.BAD_ARGUMENT;
      // Envoy answers HeaderMap::byteSize(), not the entry count.
      return vm.setU32(sizePtr, map.byteSize()) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },

    // ---- buffers (exports.cc get_buffer_bytes / status / set; envoy context.cc getBuffer) ----
    proxy_get_buffer_bytes(type: number, start: number, length: number, ptrPtr: number, sizePtr: number): number {
      if (type >>> 0 > BUFFER_TYPE_MAX) return Status.BAD_ARGUMENT;
      const buf = vm.buffer(type);
      if (!buf) return Status.NOT_FOUND;
      start >>>= 0;
      length >>>= 0;
      if (start + length > buf.length) length = Math.max(0, buf.length - start);
      // Nothing to copy: exports.cc (@c4d7bb0) still writes ptr 0 / size 0 (copyOut of "" does).
      const data = length === 0 ? EMPTY : buf.subarray(start, start + length);
      return vm.copyOut(data, ptrPtr, sizePtr) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_get_buffer_status(type: number, lengthPtr: number, flagsPtr: number): number {
      if (type >>> 0 > BUFFER_TYPE_MAX) return Status.BAD_ARGUMENT;
      const buf = vm.buffer(type);
      if (!buf) return Status.NOT_FOUND;
      return vm.setU32(lengthPtr, buf.length) && vm.setU32(flagsPtr, 0) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_set_buffer_bytes(type: number, start: number, length: number, dataPtr: number, dataSize: number): number {
      if (type >>> 0 > BUFFER_TYPE_MAX) return Status.BAD_ARGUMENT;
      const buf = vm.buffer(type);
      if (!buf) return Status.NOT_FOUND;
      const data = vm.bytes(dataPtr, dataSize);
      if (data === null) return Status.INVALID_MEMORY_ACCESS;
      const c = vm.ctx();
      // Only a body Envoy holds right now is writable; string buffers (call response, config)
      // and a body already passed on refuse writes (BufferBase::copyFrom).
      if (!c || c.kind !== "stream" || type > 1 || !c.stream.bodyHeld(type)) return Status.BAD_ARGUMENT;
      start >>>= 0;
      length >>>= 0;
      // envoy context.cc Buffer::copyFrom: at start 0, length 0 prepends and a length covering
      // the whole body replaces it; at/after the end appends; anything else (a partial
      // replace) is BAD_ARGUMENT.
      let next: Uint8Array;
      if (start === 0 && length === 0) {
        next = new Uint8Array(data.length + buf.length);
        next.set(data, 0);
        next.set(buf, data.length);
      } else if (start === 0 && length >= buf.length) {
        next = data;
      } else if (start >= buf.length) {
        next = new Uint8Array(buf.length + data.length);
        next.set(buf, 0);
        next.set(data, buf.length);
      } else return Status.BAD_ARGUMENT;
      c.stream.setBody(type, next);
      return Status.OK;
    },

    // ---- http calls ----
    proxy_http_call(
      uriPtr: number,
      uriSize: number,
      hdrPtr: number,
      hdrSize: number,
      bodyPtr: number,
      bodySize: number,
      trlPtr: number,
      trlSize: number,
      timeoutMs: number,
      tokenPtr: number,
    ): number {
      const root = rootOf(vm); // exports.cc: WASM_CONTEXT(raw_context)->root_context()
      const cluster = vm.str(uriPtr, uriSize);
      const hdrBytes = vm.bytes(hdrPtr, hdrSize);
      const body = vm.bytes(bodyPtr, bodySize);
      const trlBytes = vm.bytes(trlPtr, trlSize);
      if (cluster === null || hdrBytes === null || body === null || trlBytes === null) return Status.INVALID_MEMORY_ACCESS;
      if (!vm.setU32(tokenPtr, 0)) return Status.INVALID_MEMORY_ACCESS;
      if (!root) return Status.BAD_ARGUMENT;
      // Context::httpCall: `int timeout_milliseconds` < 0 -> BAD_ARGUMENT; unknown cluster ->
      // BAD_ARGUMENT; :path, :method and :authority required -> BAD_ARGUMENT.
      if ((timeoutMs | 0) < 0) return Status.BAD_ARGUMENT;
      const handler = vm.env.clusters[cluster];
      if (!handler) return Status.BAD_ARGUMENT;
      const headers = new HeaderMap(decodePairs(hdrBytes));
      if (headers.get(":path") === undefined || headers.get(":method") === undefined || headers.get(":authority") === undefined) {
        return Status.BAD_ARGUMENT;
      }
      if (body.length > 0) headers.replace("content-length", String(body.length));
      // Context::httpCall takes the token (wasm()->nextHttpCallId()) before the async client's
      // send(), so a refused send still uses one up.
      vm.nextHttpCallId += 4;
      const token = vm.nextHttpCallId >>> 0;
      let result: HttpCallResult | Promise<HttpCallResult>;
      try {
        result = handler({ cluster, headers: headers.toPairs(), body, trailers: decodePairs(trlBytes), timeoutMs });
      } catch {
        result = { reset: true };
      }
      if (!(result instanceof Promise) && "unavailable" in result) {
        // No healthy endpoint / upstream overflow: the router answers 503 inline, inside
        // AsyncClientImpl::send, which then returns null (source/common/http/async_client_impl.cc
        // internalStartRequest: "The request may get immediately failed"). The inline answer
        // reaches Context::onHttpCallSuccess while the VM is still inside proxy_http_call, so it
        // is deferred (addAfterVmCallAction) and, when it runs, finds the token already erased:
        // proxy_http_call returns INTERNAL_FAILURE, the token stays 0, and no callback ever comes
        // (envoy source/extensions/common/wasm/context.cc httpCall / onHttpCallSuccess). No
        // timeout follows either: the router never arms one for a request it answered itself.
        return Status.INTERNAL_FAILURE;
      }
      let markDone = () => {};
      const finished = new Promise<void>((r) => (markDone = r));
      const call: PendingCall = { token, timer: null, done: false, markDone };
      root.calls.set(token, call);
      if (timeoutMs > 0) {
        // The async client's router answers a timeout with a 504 local reply, delivered through
        // onSuccess (envoy source/common/router/router.cc onResponseTimeout ->
        // "upstream request timeout"; source/common/http/async_client_impl.cc onComplete).
        call.timer = vm.env.clock.setTimer(BigInt(timeoutMs) * 1_000_000n, () => {
          call.timer = null;
          vm.deliverCallResponse(root, call, {
            headers: new HeaderMap([
              [":status", "504"],
              ["content-length", String(TIMEOUT_BODY.length)],
              ["content-type", "text/plain"],
            ]),
            body: TIMEOUT_BODY,
            trailers: null,
          });
        });
      }
      // Delivered asynchronously on the VM's thread, never inside the calling callback.
      const p = Promise.resolve(result).then(
        (r) => vm.deliverCallResponse(root, call, toCallResponse(r)),
        () => vm.deliverCallResponse(root, call, null),
      );
      // settle() waits for the handler or for the call to end otherwise (timeout, cancel).
      vm.env.track(Promise.race([p, finished]));
      vm.setU32(tokenPtr, token);
      return Status.OK;
    },
    proxy_grpc_call(): number {
      return Status.PARSE_FAILURE; // no gRPC clusters modelled: Envoy's unknown-cluster answer
    },
    proxy_grpc_stream(): number {
      return Status.PARSE_FAILURE;
    },
    proxy_grpc_close(): number {
      return Status.BAD_ARGUMENT;
    },
    proxy_grpc_cancel(): number {
      return Status.BAD_ARGUMENT;
    },
    proxy_grpc_send(): number {
      return Status.BAD_ARGUMENT;
    },
    envoy_resolve_dns(): number {
      return Status.UNIMPLEMENTED;
    },

    // ---- time ----
    proxy_set_tick_period_milliseconds(periodMs: number): number {
      const root = rootOf(vm); // cpp-host setTimerPeriod targets root_context()
      if (!root) return Status.BAD_ARGUMENT;
      vm.setTickPeriod(root, periodMs);
      return Status.OK;
    },
    proxy_get_current_time_nanoseconds(resultPtr: number): number {
      return vm.setU64(resultPtr, vm.env.clock.wallNs()) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },

    // ---- metrics (envoy context.cc defineMetric / incrementMetric / recordMetric / getMetric) ----
    proxy_define_metric(type: number, namePtr: number, nameSize: number, idPtr: number): number {
      if (type >>> 0 > MetricType.HISTOGRAM) return Status.BAD_ARGUMENT;
      const name = vm.str(namePtr, nameSize);
      if (name === null) return Status.INVALID_MEMORY_ACCESS;
      let m = vm.env.metrics.get(name);
      if (!m) {
        m = { type: metricTypes[type]!, value: 0n, samples: [] } satisfies MetricState;
        vm.env.metrics.set(name, m);
      }
      vm.nextMetricId[type]! += 4;
      const id = vm.nextMetricId[type]!;
      vm.metricIds.set(id, m);
      return vm.setU32(idPtr, id) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_increment_metric(id: number, offset: bigint): number {
      const m = vm.metricIds.get(id >>> 0);
      const type = (id >>> 0) & 3;
      if (type === MetricType.HISTOGRAM || type === 3) return Status.BAD_ARGUMENT;
      if (!m) return Status.NOT_FOUND;
      if (type === MetricType.COUNTER) {
        if (offset <= 0n) return Status.BAD_ARGUMENT;
        m.value += offset;
      } else m.value += offset;
      return Status.OK;
    },
    proxy_record_metric(id: number, value: bigint): number {
      const m = vm.metricIds.get(id >>> 0);
      if (!m) return Status.NOT_FOUND;
      const v = BigInt.asUintN(64, value);
      if (m.type === "counter") m.value += v;
      else if (m.type === "gauge") m.value = v;
      else {
        m.samples.push(v);
        m.value += v;
      }
      return Status.OK;
    },
    proxy_get_metric(id: number, resultPtr: number): number {
      const type = (id >>> 0) & 3;
      if (type === MetricType.HISTOGRAM || type === 3) return Status.BAD_ARGUMENT;
      const m = vm.metricIds.get(id >>> 0);
      if (!m) return Status.NOT_FOUND;
      return vm.setU64(resultPtr, m.value) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },

    // ---- shared data and queues (cpp-host src/shared_data.cc, src/shared_queue.cc) ----
    proxy_get_shared_data(keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number, casPtr: number): number {
      const key = vm.str(keyPtr, keySize);
      if (key === null) return Status.INVALID_MEMORY_ACCESS;
      const root = rootOf(vm);
      const e = vm.env.shared.get(root?.identity.vmId ?? "", key);
      if (!e) return Status.NOT_FOUND;
      if (!vm.copyOut(e.value, valuePtrPtr, valueSizePtr)) return Status.INVALID_MEMORY_ACCESS;
      return vm.setU32(casPtr, e.cas) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_set_shared_data(keyPtr: number, keySize: number, valuePtr: number, valueSize: number, cas: number): number {
      const key = vm.str(keyPtr, keySize);
      const value = vm.bytes(valuePtr, valueSize);
      if (key === null || value === null) return Status.INVALID_MEMORY_ACCESS;
      const root = rootOf(vm);
      return vm.env.shared.set(root?.identity.vmId ?? "", key, value, cas >>> 0) ? Status.OK : Status.CAS_MISMATCH;
    },
    proxy_register_shared_queue(namePtr: number, nameSize: number, tokenPtr: number): number {
      const name = vm.str(namePtr, nameSize);
      if (name === null) return Status.INVALID_MEMORY_ACCESS;
      const root = rootOf(vm);
      if (!root) return Status.BAD_ARGUMENT;
      const token = vm.env.shared.register(root.identity.vmId, name, (t) => {
        // Posted to the registrant's dispatcher: runs later, not inside enqueue.
        const p = Promise.resolve().then(() => {
          if (!root.deleted) vm.invoke(root, vm.g.on_queue_ready, "proxy_on_queue_ready", t);
        });
        vm.env.track(p);
      });
      return vm.setU32(tokenPtr, token) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_resolve_shared_queue(vmIdPtr: number, vmIdSize: number, namePtr: number, nameSize: number, tokenPtr: number): number {
      const vmId = vm.str(vmIdPtr, vmIdSize);
      const name = vm.str(namePtr, nameSize);
      if (vmId === null || name === null) return Status.INVALID_MEMORY_ACCESS;
      const token = vm.env.shared.resolve(vmId, name);
      if (token === undefined) return Status.NOT_FOUND;
      return vm.setU32(tokenPtr, token) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_dequeue_shared_queue(token: number, dataPtrPtr: number, dataSizePtr: number): number {
      const q = vm.env.shared.queue(token >>> 0);
      if (!q) return Status.NOT_FOUND;
      const item = q.items.shift();
      if (item === undefined) return Status.EMPTY;
      return vm.copyOut(item, dataPtrPtr, dataSizePtr) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_enqueue_shared_queue(token: number, dataPtr: number, dataSize: number): number {
      const data = vm.bytes(dataPtr, dataSize);
      if (data === null) return Status.INVALID_MEMORY_ACCESS;
      const q = vm.env.shared.queue(token >>> 0);
      if (!q) return Status.NOT_FOUND;
      q.items.push(data);
      q.notify?.(q.token);
      return Status.OK;
    },
  };
}
