// Errors the host itself raises (not the guest's WasmResult codes). Tests assert `code`.
export type HostErrorCode =
  | "HOST_ERR_MISSING_IMPORT" // module imports something Envoy does not provide
  | "HOST_ERR_SIGNATURE_MISMATCH" // an import or proxy-wasm export has another type than Envoy's
  | "HOST_ERR_NO_ABI_VERSION" // no proxy_abi_version_0_2_1 export
  | "HOST_ERR_NO_MALLOC" // neither malloc nor proxy_on_memory_allocate exported
  | "HOST_ERR_NO_MEMORY" // no exported linear memory
  | "HOST_ERR_START_FAILED" // _start/_initialize trapped (incl. a restricted host call)
  | "HOST_ERR_BAD_OPTIONS" // startPlugin options invalid
  | "HOST_ERR_STREAM_ORDER" // HttpStream phases called out of Envoy's order
  | "HOST_ERR_NOT_MANUAL_CLOCK"; // runRequest needs a ManualClock

export class HostError extends Error {
  readonly code: HostErrorCode;
  constructor(code: HostErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
    this.name = "HostError";
  }
}
