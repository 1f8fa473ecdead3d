// The aggregator's error catalog. Codes are stable: tests and the filter's retry logic key on
// `code` and `statusCode`, never on prose. docs/errors.md (aggregator section) lists every
// code; aggregator/test/errors.test.ts keeps the two in step.

export interface ErrorSpec {
  readonly statusCode: number;
  /** Label value of meshlat_aggregator_batch_errors_total{reason} when raised by ingest. */
  readonly reason?: BatchErrorReason;
  readonly summary: string;
}

export type BatchErrorReason = "decode" | "schema" | "version" | "too_large" | "content_type" | "shed";
export const BATCH_ERROR_REASONS: readonly BatchErrorReason[] = [
  "decode", "schema", "version", "too_large", "content_type", "shed",
];

export const ERRORS = Object.freeze({
  AGG_ERR_CONFIG: { statusCode: 0, summary: "invalid configuration (flag or environment variable); the process exits with status 2" },
  AGG_ERR_DECODE: { statusCode: 400, reason: "decode", summary: "the body is not one complete MessagePack value" },
  AGG_ERR_SCHEMA: { statusCode: 400, reason: "schema", summary: "the decoded batch violates docs/wire-format.md (type, range, length or consistency); `path` names the field" },
  AGG_ERR_VERSION: { statusCode: 400, reason: "version", summary: "the batch's `v` is not a version this aggregator understands (1)" },
  AGG_ERR_TOO_LARGE: { statusCode: 413, reason: "too_large", summary: "the body exceeds `body_limit_bytes`" },
  AGG_ERR_CONTENT_TYPE: { statusCode: 415, reason: "content_type", summary: "the content type is not application/msgpack (or application/vnd.msgpack, application/x-msgpack)" },
  AGG_ERR_SHED: { statusCode: 429, reason: "shed", summary: "load shedding: too many bytes in flight or the event loop is lagging; the filter keeps the batch and retries" },
  AGG_ERR_BAD_QUERY: { statusCode: 400, summary: "an API query parameter is missing or invalid; `path` names the parameter" },
  AGG_ERR_PROMETHEUS: { statusCode: 502, summary: "the view could not be answered from `prometheus_url` (unreachable, timed out, or the query failed); the message names it" },
  AGG_ERR_NOT_FOUND: { statusCode: 404, summary: "no such route" },
  AGG_ERR_SHUTTING_DOWN: { statusCode: 503, summary: "the aggregator is shutting down; retry against another replica" },
  AGG_ERR_INTERNAL: { statusCode: 500, summary: "unexpected internal error (a bug); nothing was merged" },
} satisfies Record<string, ErrorSpec>);

export type ErrorCode = keyof typeof ERRORS;

/** An error with a stable code, an HTTP status and the path of the offending field. */
export class AggError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly path: string;
  constructor(code: ErrorCode, message: string, path = "") {
    super(message);
    this.name = "AggError";
    this.code = code;
    this.statusCode = ERRORS[code].statusCode;
    this.path = path;
  }
  toJSON(): { code: ErrorCode; message: string; path: string } {
    return { code: this.code, message: this.message, path: this.path };
  }
}

export function reasonOf(code: ErrorCode): BatchErrorReason | undefined {
  return (ERRORS[code] as ErrorSpec).reason;
}
