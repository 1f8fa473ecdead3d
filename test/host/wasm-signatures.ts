// Function signatures of a module's imports and exports, read from the binary (Node's
// WebAssembly.Module.imports/exports give names and kinds only), and the signatures Envoy
// links and calls them with. Envoy refuses a module whose import does not match the host
// function's type ("Failed to load Wasm module due to an import type mismatch", cpp-host
// src/v8/v8.cc V8::link) or whose proxy-wasm export has another type than the host calls
// ("Bad function signature for: <name>", src/v8/v8.cc getModuleFunctionImpl) — while a JS host
// would silently adapt the arguments.
import { HostError } from "./errors.ts";

/** "i32 i32 -> i32" style, as cpp-host's printValTypes ("void" for none). */
export type Signature = string;

const VALTYPES: Record<number, string> = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128", 0x70: "funcref", 0x6f: "externref" };

function sig(params: readonly string[], results: readonly string[]): Signature {
  const list = (t: readonly string[]) => (t.length === 0 ? "void" : t.join(" "));
  return `${list(params)} -> ${list(results)}`;
}

/** "i" = i32 (cpp-host Word / uint32_t), "I" = i64 (int64_t / uint64_t); ">" then the result. */
function spec(s: string): Signature {
  const [p, r] = s.split(">") as [string, string];
  const t = (x: string) => [...x].map((c) => (c === "I" ? "i64" : "i32"));
  return sig(t(p), t(r));
}

/**
 * Host functions as cpp-host @c4d7bb0 registers them (include/proxy-wasm/exports.h declarations,
 * src/v8/v8.cc convertArgToValKind: Word -> i32, int64_t/uint64_t -> i64), plus Envoy's
 * envoy_resolve_dns (source/extensions/common/wasm/wasm.cc resolve_dns). Same for both WASI
 * module names.
 */
const IMPORTS: Record<string, string> = {
  "env.pthread_equal": "ii>i",
  "env.emscripten_notify_memory_growth": "i>",
  "env.proxy_log": "iii>i",
  "env.proxy_get_status": "iii>i",
  "env.proxy_set_property": "iiii>i",
  "env.proxy_get_property": "iiii>i",
  "env.proxy_send_local_response": "iiiiiiii>i",
  "env.proxy_get_shared_data": "iiiii>i",
  "env.proxy_set_shared_data": "iiiii>i",
  "env.proxy_register_shared_queue": "iii>i",
  "env.proxy_resolve_shared_queue": "iiiii>i",
  "env.proxy_dequeue_shared_queue": "iii>i",
  "env.proxy_enqueue_shared_queue": "iii>i",
  "env.proxy_get_header_map_value": "iiiii>i",
  "env.proxy_add_header_map_value": "iiiii>i",
  "env.proxy_replace_header_map_value": "iiiii>i",
  "env.proxy_remove_header_map_value": "iii>i",
  "env.proxy_get_header_map_pairs": "iii>i",
  "env.proxy_set_header_map_pairs": "iii>i",
  "env.proxy_get_header_map_size": "ii>i",
  "env.proxy_get_buffer_status": "iii>i",
  "env.proxy_get_buffer_bytes": "iiiii>i",
  "env.proxy_set_buffer_bytes": "iiiii>i",
  "env.proxy_http_call": "iiiiiiiiii>i",
  "env.proxy_grpc_call": "iiiiiiiiiiii>i",
  "env.proxy_grpc_stream": "iiiiiiiii>i",
  "env.proxy_grpc_close": "i>i",
  "env.proxy_grpc_cancel": "i>i",
  "env.proxy_grpc_send": "iiii>i",
  "env.proxy_set_tick_period_milliseconds": "i>i",
  "env.proxy_get_current_time_nanoseconds": "i>i",
  "env.proxy_define_metric": "iiii>i",
  "env.proxy_increment_metric": "iI>i",
  "env.proxy_record_metric": "iI>i",
  "env.proxy_get_metric": "ii>i",
  "env.proxy_set_effective_context": "i>i",
  "env.proxy_done": ">i",
  "env.proxy_call_foreign_function": "iiiiii>i",
  "env.proxy_continue_stream": "i>i",
  "env.proxy_close_stream": "i>i",
  "env.proxy_get_log_level": "i>i",
  "env.envoy_resolve_dns": "iii>i",
};
const WASI: Record<string, string> = {
  fd_write: "iiii>i",
  fd_read: "iiii>i",
  fd_seek: "iIii>i",
  fd_close: "i>i",
  fd_fdstat_get: "ii>i",
  fd_fdstat_set_flags: "ii>i",
  environ_get: "ii>i",
  environ_sizes_get: "ii>i",
  args_get: "ii>i",
  args_sizes_get: "ii>i",
  clock_time_get: "iIi>i",
  random_get: "ii>i",
  sched_yield: ">i",
  poll_oneoff: "iiii>i",
  proc_exit: "i>",
  path_open: "iiiiiIIii>i",
  fd_prestat_get: "ii>i",
  fd_prestat_dir_name: "iii>i",
};
for (const [n, s] of Object.entries(WASI)) {
  IMPORTS[`wasi_snapshot_preview1.${n}`] = s;
  IMPORTS[`wasi_unstable.${n}`] = s;
}

/**
 * Exports Envoy looks up for an ABI 0.2.1 module and the type it calls them with (cpp-host
 * @c4d7bb0 include/proxy-wasm/wasm.h WasmCallWord<N> = N x i32 -> i32, WasmCallVoid<N> =
 * N x i32 -> void; src/wasm.cc getFunctions). `main` only matters with `_initialize`, `_start`
 * only without it, `proxy_on_memory_allocate` only without `malloc`.
 */
const EXPORTS: Record<string, string> = {
  _initialize: ">",
  _start: ">",
  main: "ii>i",
  malloc: "i>i",
  proxy_on_memory_allocate: "i>i",
  proxy_validate_configuration: "ii>i",
  proxy_on_vm_start: "ii>i",
  proxy_on_configure: "ii>i",
  proxy_on_tick: "i>",
  proxy_on_context_create: "ii>",
  proxy_on_new_connection: "i>i",
  proxy_on_downstream_data: "iii>i",
  proxy_on_upstream_data: "iii>i",
  proxy_on_downstream_connection_close: "ii>",
  proxy_on_upstream_connection_close: "ii>",
  proxy_on_request_headers: "iii>i",
  proxy_on_request_body: "iii>i",
  proxy_on_request_trailers: "ii>i",
  proxy_on_request_metadata: "ii>i",
  proxy_on_response_headers: "iii>i",
  proxy_on_response_body: "iii>i",
  proxy_on_response_trailers: "ii>i",
  proxy_on_response_metadata: "ii>i",
  proxy_on_http_call_response: "iiiii>",
  proxy_on_grpc_receive: "iii>",
  proxy_on_grpc_close: "iii>",
  proxy_on_grpc_receive_initial_metadata: "iii>",
  proxy_on_grpc_receive_trailing_metadata: "iii>",
  proxy_on_queue_ready: "ii>",
  proxy_on_done: "i>i",
  proxy_on_log: "i>",
  proxy_on_delete: "i>",
  proxy_on_foreign_function: "iii>",
};

export interface ModuleSignatures {
  /** "<module>.<name>" of each function import -> its type. */
  imports: Map<string, Signature>;
  /** Name of each function export -> its type. */
  exports: Map<string, Signature>;
}

class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array) {}
  byte(): number {
    if (this.pos >= this.b.length) throw new RangeError("unexpected end of module");
    return this.b[this.pos++]!;
  }
  u32(): number {
    let r = 0;
    let shift = 0;
    for (;;) {
      const x = this.byte();
      r += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0) return r;
      shift += 7;
    }
  }
  name(): string {
    const n = this.u32();
    const s = Buffer.from(this.b.buffer, this.b.byteOffset + this.pos, n).toString("utf8");
    this.pos += n;
    return s;
  }
  limits(): void {
    const flags = this.byte();
    this.u32();
    if (flags & 1) this.u32();
  }
}

/**
 * Reads the type, import, function and export sections. Returns null for a module using type
 * forms this reader does not know (e.g. GC types), so callers skip the check rather than guess.
 */
export function readSignatures(bytes: Uint8Array): ModuleSignatures | null {
  const r = new Reader(bytes);
  r.pos = 8; // magic + version
  const types: Signature[] = [];
  const funcTypes: number[] = []; // function index space: imports first, then definitions
  const imports = new Map<string, Signature>();
  const exportIdx = new Map<string, number>();
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (id === 1) {
      for (let n = r.u32(); n > 0; n--) {
        if (r.byte() !== 0x60) return null;
        const vt = () => VALTYPES[r.byte()] ?? "?";
        const params = Array.from({ length: r.u32() }, vt);
        const results = Array.from({ length: r.u32() }, vt);
        if ([...params, ...results].includes("?")) return null;
        types.push(sig(params, results));
      }
    } else if (id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        const full = `${r.name()}.${r.name()}`;
        const kind = r.byte();
        if (kind === 0) {
          const t = r.u32();
          funcTypes.push(t);
          imports.set(full, types[t]!);
        } else if (kind === 1) {
          if (!VALTYPES[r.byte()]) return null;
          r.limits();
        } else if (kind === 2) r.limits();
        else if (kind === 3) {
          if (!VALTYPES[r.byte()]) return null;
          r.byte();
        } else return null;
      }
    } else if (id === 3) {
      for (let n = r.u32(); n > 0; n--) funcTypes.push(r.u32());
    } else if (id === 7) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name();
        const kind = r.byte();
        const idx = r.u32();
        if (kind === 0) exportIdx.set(name, idx);
      }
    }
    r.pos = end;
  }
  const exports = new Map<string, Signature>();
  for (const [name, idx] of exportIdx) {
    const t = funcTypes[idx];
    if (t !== undefined && types[t] !== undefined) exports.set(name, types[t]);
  }
  return { imports, exports };
}

/**
 * Throws HOST_ERR_SIGNATURE_MISMATCH for the first import or proxy-wasm export whose type is
 * not the one Envoy links / calls. Unknown names are left to checkModule.
 */
export function checkSignatures(bytes: Uint8Array): void {
  const s = readSignatures(bytes);
  if (s === null) return;
  for (const [name, got] of s.imports) {
    const want = IMPORTS[name];
    if (want !== undefined && spec(want) !== got) {
      throw new HostError(
        "HOST_ERR_SIGNATURE_MISMATCH",
        `Failed to load Wasm module due to an import type mismatch: ${name}, want: ${got}, but host exports: ${spec(want)}`,
      );
    }
  }
  const relevant = (name: string) =>
    name === "main" ? s.exports.has("_initialize")
    : name === "_start" ? !s.exports.has("_initialize")
    : name === "proxy_on_memory_allocate" ? !s.exports.has("malloc")
    : true;
  for (const [name, got] of s.exports) {
    const want = EXPORTS[name];
    if (want !== undefined && relevant(name) && spec(want) !== got) {
      throw new HostError("HOST_ERR_SIGNATURE_MISMATCH", `Bad function signature for: ${name}, want: ${spec(want)}, but the module exports: ${got}`);
    }
  }
}
