// One Wasm VM as Envoy runs it on one thread: its instance and linear memory, its contexts
// (root contexts per plugin configuration, stream contexts per request), the calls into the
// guest, and the host-side state the imports (imports-env.ts, imports-wasi.ts) act on.
//
// Calls into the guest follow proxy-wasm/proxy-wasm-cpp-host src/context.cc: a failed VM is
// never called again (the `isFailed()` checks in ContextBase::on*); a trap inside a callback
// fails the VM (src/wasm.cc addFailCallback / WasmVm::fail), is logged at error like
// Envoy's `integration()->error(...)`, and the host carries on.
import { Action, BufferType, LOG_LEVEL_NAMES, LogLevel, MapType, type LogLevelName } from "./abi.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { HostError } from "./errors.ts";
import type { HeaderMap } from "./header-map.ts";
import { ALLOWED_DURING_MALLOC, ALLOWED_DURING_START, buildImports, IMPORT_NAMES } from "./imports.ts";
import type { PluginIdentity } from "./properties.ts";
import type { SharedState } from "./shared-state.ts";
import { HttpStream } from "./stream.ts";
import type { HttpCallHandler, LogLine, StreamInfo } from "./types.ts";

export type VmRole = "canary" | "main" | "worker";

/** An HTTP call response as Envoy's AsyncClient hands it over (onSuccess). */
export interface CallResponse {
  headers: HeaderMap;
  body: Uint8Array;
  trailers: HeaderMap | null;
}

export interface PendingCall {
  token: number;
  timer: TimerHandle | null;
  done: boolean;
  /** Resolves the call's entry in Plugin.settle() (on delivery, timeout or cancel). */
  markDone: () => void;
}

export interface RootCtx {
  readonly kind: "root";
  readonly id: number;
  readonly identity: PluginIdentity;
  readonly configuration: Uint8Array;
  /** Plugin configuration readable (Envoy's temp_plugin_: during create/vm_start/configure). */
  configReadable: boolean;
  tickPeriodNs: bigint;
  tickTimer: TimerHandle | null;
  readonly calls: Map<number, PendingCall>;
  /** Set only while proxy_on_http_call_response runs (Envoy's http_call_response_). */
  callResponse: CallResponse | null;
  statusCode: number;
  statusMessage: string;
  /** proxy_on_done returned false: waiting for proxy_done (cpp-host WasmBase::startShutdown). */
  pendingDone: boolean;
  /** proxy_done was called: deleted once the running callback returns. */
  deleteQueued: boolean;
  deleted: boolean;
}

export interface StreamCtx {
  readonly kind: "stream";
  readonly id: number;
  readonly root: RootCtx;
  readonly stream: HttpStream;
}

export type Ctx = RootCtx | StreamCtx;

export interface MetricState {
  type: "counter" | "gauge" | "histogram";
  value: bigint;
  samples: bigint[];
}

/** Everything a VM shares with the other VMs of its plugin (one Envoy process). */
export interface VmEnvironment {
  readonly clock: Clock;
  readonly vmConfiguration: Uint8Array;
  readonly env: Record<string, string>;
  readonly clusters: Record<string, HttpCallHandler>;
  readonly logLevel: LogLevelName;
  readonly onLog: ((line: LogLine) => void) | undefined;
  readonly failOpen: boolean;
  readonly shared: SharedState;
  /** Metrics are process-wide in Envoy: one stat per name for all VMs (context.cc defineMetric). */
  readonly metrics: Map<string, MetricState>;
  /** Tracks async work (http-call handlers, queue posts) for Plugin.settle(). */
  track(p: Promise<unknown>): void;
}

type GuestFn = (...args: number[]) => number | undefined;

const START_RESTRICTION = { phase: "the module starts (_start/_initialize)", allowed: ALLOWED_DURING_START };
const MALLOC_RESTRICTION = { phase: "the host runs the module's malloc", allowed: ALLOWED_DURING_MALLOC };

interface GuestExports {
  memory: WebAssembly.Memory;
  malloc: (size: number) => number;
  start: (() => void) | undefined;
  initialize: (() => void) | undefined;
  main: ((argc: number, argv: number) => number) | undefined;
  on_context_create?: GuestFn;
  on_vm_start?: GuestFn;
  on_configure?: GuestFn;
  on_tick?: GuestFn;
  on_done?: GuestFn;
  on_log?: GuestFn;
  on_delete?: GuestFn;
  on_request_headers?: GuestFn;
  on_request_body?: GuestFn;
  on_request_trailers?: GuestFn;
  on_response_headers?: GuestFn;
  on_response_body?: GuestFn;
  on_response_trailers?: GuestFn;
  on_http_call_response?: GuestFn;
  on_queue_ready?: GuestFn;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

// Buffer#utf8Slice skips toString's encoding dispatch (measured ~120 ns vs ~190 ns per short
// string); it is an undocumented but long-standing Node Buffer method, so fall back if absent.
type SliceFn = (this: Buffer, start: number, end: number) => string;
const nativeSlice = (Buffer.prototype as unknown as { utf8Slice?: SliceFn }).utf8Slice;
const utf8Slice: (b: Buffer, start: number, end: number) => string = nativeSlice
  ? (b, s, e) => nativeSlice.call(b, s, e)
  : (b, s, e) => b.toString("utf8", s, e);

export class Vm {
  readonly id: number;
  readonly role: VmRole;
  readonly logs: LogLine[] = [];
  failed = false;
  failure: Error | undefined;
  /** Envoy's message when vm_start / configure refused on this VM (not a trap: `failed` stays false). */
  refused: string | undefined;
  /** Discarded (the canary after configuring; every VM after Plugin.stop()). */
  discarded = false;

  readonly env: VmEnvironment;
  readonly contexts = new Map<number, Ctx>();
  /** Context of the callback now running (cpp-host current_context_). */
  current: Ctx | null = null;
  /** proxy_set_effective_context target for the rest of this callback. */
  effective: Ctx | null = null;
  /** Set by proxy_send_local_response (cpp-host WasmBase::stopNextIteration). */
  stopNextIteration = false;
  /** Set while _start/_initialize or the guest's malloc runs: only `allowed` host calls may run. */
  restricted: { readonly phase: string; readonly allowed: ReadonlySet<string> } | null = null;
  readonly logLevelNum: number;

  readonly counts: Float64Array;
  nextContextId = 1;
  nextHttpCallId = 0; // Envoy wasm.h: HttpCall type 0, += kCalloutIncrement (4)
  nextMetricId = [0, 1, 2]; // per type, += kMetricIdIncrement (4)
  readonly metricIds = new Map<number, MetricState>();

  readonly g: GuestExports;
  #buf: ArrayBuffer;
  u8: Uint8Array;
  dv: DataView;
  nodeBuf: Buffer;

  constructor(id: number, role: VmRole, module: WebAssembly.Module, env: VmEnvironment) {
    this.id = id;
    this.role = role;
    this.env = env;
    this.logLevelNum = LogLevel[env.logLevel];
    this.counts = new Float64Array(IMPORT_NAMES.length);
    const instance = new WebAssembly.Instance(module, buildImports(this));
    const x = instance.exports as Record<string, unknown>;
    const fn = (n: string) => (typeof x[n] === "function" ? (x[n] as GuestFn) : undefined);
    const malloc = fn("malloc") ?? fn("proxy_on_memory_allocate");
    this.g = {
      memory: x.memory as WebAssembly.Memory,
      malloc: malloc as (size: number) => number,
      start: fn("_start") as (() => void) | undefined,
      initialize: fn("_initialize") as (() => void) | undefined,
      main: (fn("main") ?? fn("__main_void")) as ((argc: number, argv: number) => number) | undefined,
      on_context_create: fn("proxy_on_context_create"),
      on_vm_start: fn("proxy_on_vm_start"),
      on_configure: fn("proxy_on_configure"),
      on_tick: fn("proxy_on_tick"),
      on_done: fn("proxy_on_done"),
      on_log: fn("proxy_on_log"),
      on_delete: fn("proxy_on_delete"),
      on_request_headers: fn("proxy_on_request_headers"),
      on_request_body: fn("proxy_on_request_body"),
      on_request_trailers: fn("proxy_on_request_trailers"),
      on_response_headers: fn("proxy_on_response_headers"),
      on_response_body: fn("proxy_on_response_body"),
      on_response_trailers: fn("proxy_on_response_trailers"),
      on_http_call_response: fn("proxy_on_http_call_response"),
      on_queue_ready: fn("proxy_on_queue_ready"),
    };
    this.#buf = this.g.memory.buffer;
    this.u8 = new Uint8Array(this.#buf);
    this.dv = new DataView(this.#buf);
    this.nodeBuf = Buffer.from(this.#buf);
  }

  // ---- memory (views are cached and refreshed only when memory.grow replaced the buffer) ----

  refresh(): void {
    // memory.grow detaches the old ArrayBuffer, so a zero-length view means "re-read"; this
    // avoids the comparatively slow memory.buffer getter on every host call.
    if (this.u8.length === 0) this.#reload();
  }

  #reload(): void {
    const b = this.g.memory.buffer;
    this.#buf = b;
    this.u8 = new Uint8Array(b);
    this.dv = new DataView(b);
    this.nodeBuf = Buffer.from(b);
  }

  /** Current linear memory size in bytes. */
  memoryBytes(): number {
    return this.g.memory.buffer.byteLength;
  }

  inBounds(ptr: number, size: number): boolean {
    this.refresh();
    return ptr >>> 0 === ptr && size >= 0 && ptr + size <= this.u8.length;
  }

  /** UTF-8 string at ptr, or null when out of bounds (cpp-host getMemory -> INVALID_MEMORY_ACCESS). */
  str(ptr: number, size: number): string | null {
    ptr >>>= 0;
    size >>>= 0;
    if (!this.inBounds(ptr, size)) return null;
    return size === 0 ? "" : utf8Slice(this.nodeBuf, ptr, ptr + size);
  }

  readonly #strCache = new Map<number, { bytes: Uint8Array; str: string }>();

  /**
   * Like str(), for strings a filter passes again and again from the same place (property
   * paths, header names): remembers the decoded string per pointer and re-checks the bytes,
   * which is cheaper than decoding again.
   */
  cachedStr(ptr: number, size: number): string | null {
    ptr >>>= 0;
    size >>>= 0;
    if (!this.inBounds(ptr, size)) return null;
    const u8 = this.u8;
    const hit = this.#strCache.get(ptr);
    if (hit !== undefined && hit.bytes.length === size) {
      const b = hit.bytes;
      let i = 0;
      while (i < size && b[i] === u8[ptr + i]) i++;
      if (i === size) return hit.str;
    }
    const str = size === 0 ? "" : utf8Slice(this.nodeBuf, ptr, ptr + size);
    if (size <= 256) {
      if (this.#strCache.size >= 128) this.#strCache.clear();
      this.#strCache.set(ptr, { bytes: u8.slice(ptr, ptr + size), str });
    }
    return str;
  }

  bytes(ptr: number, size: number): Uint8Array | null {
    ptr >>>= 0;
    size >>>= 0;
    if (!this.inBounds(ptr, size)) return null;
    return this.u8.slice(ptr, ptr + size);
  }

  setU32(ptr: number, v: number): boolean {
    ptr >>>= 0;
    if (!this.inBounds(ptr, 4)) return false;
    this.dv.setUint32(ptr, v >>> 0, true);
    return true;
  }

  setU64(ptr: number, v: bigint): boolean {
    ptr >>>= 0;
    if (!this.inBounds(ptr, 8)) return false;
    this.dv.setBigUint64(ptr, BigInt.asUintN(64, v), true);
    return true;
  }

  /**
   * The guest's malloc as cpp-host WasmBase::allocMemory runs it: only proxy_log, fd_write and
   * clock_time_get may be called meanwhile (a trap inside fails the VM like any other).
   */
  alloc(size: number): number {
    const outer = this.restricted;
    this.restricted = MALLOC_RESTRICTION;
    try {
      return this.g.malloc(size) >>> 0;
    } finally {
      this.restricted = outer;
    }
  }

  /**
   * cpp-host WasmBase::copyToPointerSize: malloc in the guest (nothing for empty data, ptr 0),
   * copy, then write pointer and size to the guest's out-pointers.
   */
  copyOut(data: Uint8Array | string, ptrPtr: number, sizePtr: number): boolean {
    let ptr = 0;
    let size: number;
    if (typeof data === "string") {
      // Short ASCII strings (header values, labels) are copied char by char: cheaper than
      // Buffer.byteLength + Buffer#write for a few bytes.
      const n = data.length;
      let ascii = n <= 64;
      for (let i = 0; ascii && i < n; i++) if (data.charCodeAt(i) > 0x7f) ascii = false;
      size = ascii ? n : Buffer.byteLength(data);
      if (size > 0) {
        ptr = this.alloc(size);
        if (ptr === 0 || !this.inBounds(ptr, size)) return false;
        if (ascii) {
          const u8 = this.u8;
          for (let i = 0; i < n; i++) u8[ptr + i] = data.charCodeAt(i);
        } else this.nodeBuf.write(data, ptr, size, "utf8");
      }
    } else {
      size = data.length;
      if (size > 0) {
        ptr = this.alloc(size);
        if (ptr === 0 || !this.inBounds(ptr, size)) return false;
        if (size <= 16) {
          const u8 = this.u8;
          for (let i = 0; i < size; i++) u8[ptr + i] = data[i]!;
        } else this.u8.set(data, ptr);
      }
    }
    return this.setU32(ptrPtr, ptr) && this.setU32(sizePtr, size);
  }

  // ---- logging ----

  emit(levelNum: number, message: string, source: LogLine["source"]): void {
    if (levelNum < this.logLevelNum) return; // below Envoy's wasm logger level: not printed
    const line: LogLine = { level: LOG_LEVEL_NAMES[levelNum] ?? "critical", message, vm: this.id, source };
    this.logs.push(line);
    this.env.onLog?.(line);
  }

  // ---- host call counters ----

  /** Host calls by import name ("env.proxy_log", "wasi_snapshot_preview1.fd_write", ...), non-zero only. */
  get hostCalls(): Map<string, number> {
    const m = new Map<string, number>();
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]! > 0) m.set(IMPORT_NAMES[i]!, this.counts[i]!);
    return m;
  }

  hostCallTotal(): number {
    let n = 0;
    for (let i = 0; i < this.counts.length; i++) n += this.counts[i]!;
    return n;
  }

  resetHostCalls(): void {
    this.counts.fill(0);
  }

  /** Envoy's metrics as this VM sees them (process-wide, shared by the plugin's VMs), by defined name. */
  get metrics(): Map<string, MetricState> {
    return this.env.metrics;
  }

  // ---- failure ----

  fail(err: unknown, where: string | null): void {
    const e = err instanceof Error ? err : new Error(String(err));
    if (!this.failed) {
      this.failed = true;
      this.failure = e;
    }
    // cpp-host: "Function: <name> failed: <trap message>" through integration()->error;
    // WasmBase::fail(state, message) for host-side failures (where = null).
    this.emit(LogLevel.error, where === null ? e.message : `Function: ${where} failed: ${e.message}`, "host");
    for (const ctx of this.contexts.values()) if (ctx.kind === "root") this.cancelRootTimers(ctx);
  }

  // ---- calls into the guest ----

  /**
   * Runs one guest callback with `ctx` as current context. Returns the callback's result, or
   * -1 when it did not run (failed VM, missing export) or trapped.
   */
  invoke(ctx: Ctx, fn: GuestFn | undefined, name: string, a = 0, b = 0, c = 0, d = 0): number {
    if (this.failed || fn === undefined) return -1;
    const prev = this.current;
    const prevEff = this.effective;
    this.current = ctx;
    this.effective = null;
    this.stopNextIteration = false;
    try {
      const r = fn(ctx.id, a, b, c, d);
      return r === undefined ? 0 : r >>> 0;
    } catch (e) {
      this.fail(e, name);
      return -1;
    } finally {
      this.current = prev;
      this.effective = prevEff;
      if (prev === null && this.#afterCall.length > 0) this.#runAfterCall();
    }
  }

  readonly #afterCall: (() => void)[] = [];

  /** cpp-host addAfterVmCallAction: runs once the running callback has returned. */
  afterCall(action: () => void): void {
    this.#afterCall.push(action);
  }

  #runAfterCall(): void {
    // DeferAfterCallActions: actions may queue more actions (run in order until none are left).
    while (this.#afterCall.length > 0) this.#afterCall.shift()!();
  }

  /**
   * Module start (cpp-host WasmBase::startVm): a WASI reactor's _initialize (then main(0, 0)
   * if exported), else a command's _start; only the restricted imports may be called.
   */
  runStart(): void {
    const init = this.g.initialize;
    const f = init ? () => (init(), this.g.main?.(0, 0)) : this.g.start;
    if (!f) return;
    this.restricted = START_RESTRICTION;
    try {
      f();
    } catch (e) {
      this.fail(e, this.g.initialize ? "_initialize" : "_start");
      throw new HostError("HOST_ERR_START_FAILED", `VM ${this.id} start failed: ${(e as Error).message}`, { cause: e });
    } finally {
      this.restricted = null;
    }
  }

  /** Reads and clears stopNextIteration (DeferAfterCallActions resets it after each callback). */
  takeStopNextIteration(): boolean {
    const v = this.stopNextIteration;
    this.stopNextIteration = false;
    return v;
  }

  /** The context host calls act on (cpp-host WASM_CONTEXT: effective context, else current). */
  ctx(): Ctx | null {
    return this.effective ?? this.current;
  }

  // ---- root contexts ----

  /**
   * cpp-host WasmBase::start + ContextBase::onStart/onConfigure: a new root context,
   * proxy_on_context_create(root, 0), proxy_on_vm_start, proxy_on_configure. Returns the root
   * context, or null when vm_start or configure returned false or trapped.
   */
  startRoot(identity: PluginIdentity, configuration: Uint8Array): { root: RootCtx; ok: boolean; refused?: "vm_start" | "configure" } {
    const root: RootCtx = {
      kind: "root",
      id: this.nextContextId++,
      identity,
      configuration,
      configReadable: true,
      tickPeriodNs: 0n,
      tickTimer: null,
      calls: new Map(),
      callResponse: null,
      statusCode: 0,
      statusMessage: "",
      pendingDone: false,
      deleteQueued: false,
      deleted: false,
    };
    this.contexts.set(root.id, root);
    this.#latestRoot = root;
    try {
      this.invoke(root, this.g.on_context_create, "proxy_on_context_create", 0);
      if (this.failed) return { root, ok: false };
      const vmStart = this.invoke(root, this.g.on_vm_start, "proxy_on_vm_start", this.env.vmConfiguration.length);
      if (this.failed || vmStart === 0) return { root, ok: false, refused: "vm_start" };
      const ok = this.g.on_configure ? this.invoke(root, this.g.on_configure, "proxy_on_configure", configuration.length) : 1;
      return !this.failed && ok !== 0 ? { root, ok: true } : { root, ok: false, refused: "configure" };
    } finally {
      root.configReadable = false;
    }
  }

  /**
   * cpp-host WasmBase::startShutdown: proxy_on_done; proxy_on_delete now or after proxy_done.
   * A root waiting for proxy_done stays in the VM's contexts, so it keeps ticking (envoy
   * wasm.cc tickHandler) and its in-flight http calls are still answered.
   */
  shutdownRoot(root: RootCtx): void {
    if (root.deleted || root.pendingDone) return;
    const done = this.g.on_done ? this.invoke(root, this.g.on_done, "proxy_on_done") : 1;
    if (done === 0) {
      root.pendingDone = true;
      return;
    }
    this.deleteRoot(root);
  }

  /** proxy_on_delete; the context goes away with its timer and calls (envoy Context::~Context cancels them). */
  deleteRoot(root: RootCtx): void {
    root.pendingDone = false;
    root.deleted = true;
    this.cancelRootWork(root);
    this.invoke(root, this.g.on_delete, "proxy_on_delete");
    this.contexts.delete(root.id);
  }

  /** Cancels a root context's tick timer and pending http calls (no callbacks follow). */
  cancelRootWork(root: RootCtx): void {
    this.cancelRootTimers(root);
    for (const c of root.calls.values()) this.cancelCall(c);
    root.calls.clear();
  }

  cancelRootTimers(root: RootCtx): void {
    if (root.tickTimer) this.env.clock.clearTimer(root.tickTimer);
    root.tickTimer = null;
  }

  cancelCall(c: PendingCall): void {
    c.done = true;
    c.markDone();
    if (c.timer) this.env.clock.clearTimer(c.timer);
    c.timer = null;
  }

  #latestRoot: RootCtx | null = null;

  /** The root context serving traffic (the newest live one). */
  liveRoot(): RootCtx | null {
    const latest = this.#latestRoot;
    if (latest !== null && !latest.deleted && !latest.pendingDone) return latest;
    let found: RootCtx | null = null;
    for (const c of this.contexts.values()) if (c.kind === "root" && !c.deleted && !c.pendingDone) found = c;
    return found;
  }

  // ---- ticks (envoy source/extensions/common/wasm/wasm.cc setTimerPeriod / tickHandler) ----

  setTickPeriod(root: RootCtx, periodMs: number): void {
    this.cancelRootTimers(root);
    root.tickPeriodNs = BigInt(periodMs >>> 0) * 1_000_000n;
    if (root.tickPeriodNs > 0n && !this.discarded && !this.failed) this.armTick(root);
  }

  armTick(root: RootCtx): void {
    root.tickTimer = this.env.clock.setTimer(root.tickPeriodNs, () => {
      root.tickTimer = null;
      this.tickRoot(root);
      // Re-armed for a full period after the tick returns.
      if (root.tickPeriodNs > 0n && root.tickTimer === null && !root.deleted && !this.failed && !this.discarded) {
        this.armTick(root);
      }
    });
  }

  tickRoot(root: RootCtx): void {
    if (root.deleted) return;
    this.invoke(root, this.g.on_tick, "proxy_on_tick");
  }

  /** Runs proxy_on_tick on the live root context now (ticks are otherwise driven by the clock). */
  tick(): void {
    const root = this.liveRoot();
    if (root) this.tickRoot(root);
  }

  // ---- streams ----

  /** proxy_on_context_create for a new HTTP stream (Envoy: from the filter's decodeHeaders). */
  stream(info: StreamInfo = {}): HttpStream {
    if (this.role !== "worker") {
      throw new HostError("HOST_ERR_BAD_OPTIONS", `VM ${this.id} is the ${this.role} VM; only worker VMs see traffic`);
    }
    const root = this.liveRoot();
    if (!root) throw new HostError("HOST_ERR_BAD_OPTIONS", `VM ${this.id} has no configured root context`);
    return new HttpStream(this, root, this.nextContextId++, info);
  }

  // ---- header maps and buffers for the current context (envoy context.cc getMap / getConstMap / getBuffer) ----

  mutableMap(type: number): HeaderMap | null {
    const c = this.ctx();
    if (!c || c.kind !== "stream") return null;
    return c.stream.mutableMap(type);
  }

  constMap(type: number): HeaderMap | null {
    const c = this.ctx();
    if (!c) return null;
    if (type === MapType.HTTP_CALL_RESPONSE_HEADERS || type === MapType.HTTP_CALL_RESPONSE_TRAILERS) {
      const r = (c.kind === "root" ? c : c.root).callResponse;
      if (!r) return null;
      return type === MapType.HTTP_CALL_RESPONSE_HEADERS ? r.headers : r.trailers;
    }
    if (c.kind !== "stream") return null;
    return c.stream.constMap(type);
  }

  /** Access-log phase of the current stream (changes getHeaderMapValue's null-map result). */
  inLogPhase(): boolean {
    const c = this.ctx();
    return c !== null && c.kind === "stream" && c.stream.logPhase;
  }

  /** Buffer contents, or null when Envoy's getBuffer returns nullptr (-> NOT_FOUND). */
  buffer(type: number): Uint8Array | null {
    const c = this.ctx();
    if (!c) return null;
    switch (type) {
      case BufferType.VM_CONFIGURATION:
        return this.env.vmConfiguration;
      case BufferType.PLUGIN_CONFIGURATION: {
        const root = c.kind === "root" ? c : null;
        return root && root.configReadable ? root.configuration : null;
      }
      case BufferType.HTTP_CALL_RESPONSE_BODY: {
        const r = (c.kind === "root" ? c : c.root).callResponse;
        return r ? r.body : null;
      }
      case BufferType.HTTP_REQUEST_BODY:
      case BufferType.HTTP_RESPONSE_BODY:
        // Envoy returns its Buffer wrapper even when no body is attached (empty, OK).
        return c.kind === "stream" ? c.stream.body(type) : new Uint8Array(0);
      case BufferType.DOWNSTREAM_DATA:
      case BufferType.UPSTREAM_DATA:
      case BufferType.GRPC_RECEIVE_BUFFER:
      case BufferType.CALL_DATA:
        return new Uint8Array(0);
    }
    return null;
  }

  // ---- http calls (envoy context.cc Context::httpCall / onHttpCallSuccess / onHttpCallFailure) ----

  deliverCallResponse(root: RootCtx, call: PendingCall, resp: CallResponse | null): void {
    if (call.done || root.deleted) return;
    this.cancelCall(call);
    root.calls.delete(call.token);
    if (this.failed || this.discarded) return;
    if (resp === null) {
      root.statusCode = 11; // WasmResult::BrokenConnection
      root.statusMessage = "reset";
      this.invoke(root, this.g.on_http_call_response, "proxy_on_http_call_response", call.token, 0, 0, 0);
      root.statusMessage = "";
      return;
    }
    root.callResponse = resp;
    try {
      this.invoke(
        root,
        this.g.on_http_call_response,
        "proxy_on_http_call_response",
        call.token,
        resp.headers.size,
        resp.body.length,
        resp.trailers ? resp.trailers.size : 0,
      );
    } finally {
      root.callResponse = null;
    }
  }

  static encode(s: string): Uint8Array {
    return enc.encode(s);
  }

  static decode(b: Uint8Array): string {
    return dec.decode(b);
  }
}

export { Action };
