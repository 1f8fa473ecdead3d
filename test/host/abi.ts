// proxy-wasm ABI 0.2.1 enums, as numbered in proxy-wasm/spec abi-versions/v0.2.1/README.md
// and proxy-wasm/proxy-wasm-cpp-host include/proxy-wasm/wasm_api_impl.h / word.h.

/** proxy_status_t (WasmResult in cpp-host include/proxy-wasm/word.h). */
export const Status = {
  OK: 0,
  NOT_FOUND: 1,
  BAD_ARGUMENT: 2,
  SERIALIZATION_FAILURE: 3,
  PARSE_FAILURE: 4,
  INVALID_MEMORY_ACCESS: 6,
  EMPTY: 7,
  CAS_MISMATCH: 8,
  INTERNAL_FAILURE: 10,
  BROKEN_CONNECTION: 11,
  UNIMPLEMENTED: 12,
} as const;

/** proxy_map_type_t */
export const MapType = {
  REQUEST_HEADERS: 0,
  REQUEST_TRAILERS: 1,
  RESPONSE_HEADERS: 2,
  RESPONSE_TRAILERS: 3,
  GRPC_RECEIVE_INITIAL_METADATA: 4,
  GRPC_RECEIVE_TRAILING_METADATA: 5,
  HTTP_CALL_RESPONSE_HEADERS: 6,
  HTTP_CALL_RESPONSE_TRAILERS: 7,
} as const;
export const MAP_TYPE_MAX = 7;

/** proxy_buffer_type_t */
export const BufferType = {
  HTTP_REQUEST_BODY: 0,
  HTTP_RESPONSE_BODY: 1,
  DOWNSTREAM_DATA: 2,
  UPSTREAM_DATA: 3,
  HTTP_CALL_RESPONSE_BODY: 4,
  GRPC_RECEIVE_BUFFER: 5,
  VM_CONFIGURATION: 6,
  PLUGIN_CONFIGURATION: 7,
  CALL_DATA: 8,
} as const;
export const BUFFER_TYPE_MAX = 8;

/** proxy_log_level_t (= spdlog levels, envoy source/extensions/common/wasm/context.cc Context::log). */
export const LogLevel = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, critical: 5 } as const;
export type LogLevelName = keyof typeof LogLevel;
export const LOG_LEVEL_NAMES: readonly LogLevelName[] = ["trace", "debug", "info", "warn", "error", "critical"];

/** Filter return values (proxy_action_t / FilterHeadersStatus etc.). */
export const Action = { CONTINUE: 0, PAUSE: 1 } as const;

/** proxy_metric_type_t; Envoy metric ids carry the type in the low 2 bits (envoy wasm.h kMetricTypeMask). */
export const MetricType = { COUNTER: 0, GAUGE: 1, HISTOGRAM: 2 } as const;

/** WASI errno values used by cpp-host src/exports.cc. */
export const Errno = { SUCCESS: 0, BADF: 8, FAULT: 21, INVAL: 28, NOENT: 44, NOSYS: 52, NOTSUP: 58 } as const;
