// The aggregator's error catalog. Codes are stable: tests and the filter's retry logic key on
// `code` and `statusCode`, never on prose. docs/errors.md (aggregator section) lists every
// code; aggregator/test/errors.test.ts keeps the two in step.

export interface ErrorSpec {
  readonly statusCode: number;
  /** Label value of meshlat_aggregator_batch_errors_total{reason} when raised by ingest. */
  readonly reason?: BatchErrorReason;
  readonly summary: string;
}

export type BatchErrorReason =
  "decode" | "schema" | "version" | "too_large" | "content_type" | "shed" | "length_required" | "timeout" | "forbidden" | "shutting_down";
export const BATCH_ERROR_REASONS: readonly BatchErrorReason[] = [
  "decode", "schema", "version", "too_large", "content_type", "shed", "length_required", "timeout", "forbidden", "shutting_down",
];

export const ERRORS = Object.freeze({
  AGG_ERR_CONFIG: { statusCode: 0, summary: "invalid configuration (flag or environment variable); the process exits with status 2" },
  AGG_ERR_DECODE: { statusCode: 400, reason: "decode", summary: "the body is not one complete MessagePack value" },
  AGG_ERR_SCHEMA: { statusCode: 400, reason: "schema", summary: "the decoded batch violates docs/wire-format.md (type, range, length or consistency); `path` names the field" },
  AGG_ERR_VERSION: { statusCode: 400, reason: "version", summary: "the batch's `v` is not a version this aggregator understands (1)" },
  AGG_ERR_TOO_LARGE: { statusCode: 413, reason: "too_large", summary: "the body exceeds `body_limit_bytes`" },
  AGG_ERR_CONTENT_TYPE: { statusCode: 415, reason: "content_type", summary: "the content type is not application/msgpack (or application/vnd.msgpack, application/x-msgpack), or the body has a content-encoding" },
  AGG_ERR_LENGTH_REQUIRED: { statusCode: 411, reason: "length_required", summary: "the batch has no content-length (a chunked body); the filter always sends one" },
  AGG_ERR_TIMEOUT: { statusCode: 408, reason: "timeout", summary: "the body did not arrive within body_timeout_ms; the connection is closed" },
  AGG_ERR_FORBIDDEN: { statusCode: 403, reason: "forbidden", summary: "the caller's mesh identity may not report for the batch's namespace (caller_identity)" },
  AGG_ERR_SHED: { statusCode: 429, reason: "shed", summary: "load shedding: too many batches or bytes in flight, or the event loop is lagging; Retry-After says when to retry" },
  AGG_ERR_BAD_QUERY: { statusCode: 400, summary: "an API query parameter is missing or invalid; `path` names the parameter" },
  AGG_ERR_PROMETHEUS: { statusCode: 502, summary: "the view could not be answered from `prometheus_url` (unreachable, timed out, or the query failed); the message names it" },
  AGG_ERR_NOT_FOUND: { statusCode: 404, summary: "no such route" },
  AGG_ERR_SHUTTING_DOWN: { statusCode: 503, reason: "shutting_down", summary: "the aggregator is shutting down; retry against another replica" },
  AGG_ERR_INTERNAL: { statusCode: 500, summary: "unexpected internal error (a bug); nothing was merged" },
} satisfies Record<string, ErrorSpec>);

export type ErrorCode = keyof typeof ERRORS;

export interface AggErrorOptions {
  /** Sent as Retry-After (seconds) with the response. */
  readonly retryAfterS?: number;
  /** Close the connection after the response (its request body was not read to the end). */
  readonly closeConnection?: boolean;
}

/** An error with a stable code, an HTTP status and the path of the offending field. */
export class AggError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly path: string;
  readonly retryAfterS?: number;
  readonly closeConnection: boolean;
  constructor(code: ErrorCode, message: string, path = "", opts: AggErrorOptions = {}) {
    super(message);
    this.name = "AggError";
    this.code = code;
    this.statusCode = ERRORS[code].statusCode;
    this.path = path;
    this.retryAfterS = opts.retryAfterS;
    this.closeConnection = opts.closeConnection ?? false;
  }
  toJSON(): { code: ErrorCode; message: string; path: string } {
    return { code: this.code, message: this.message, path: this.path };
  }
}

export function reasonOf(code: ErrorCode): BatchErrorReason | undefined {
  return (ERRORS[code] as ErrorSpec).reason;
}
