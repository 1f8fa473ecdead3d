// The filter's error catalog: every FLT_ERR_* code its log lines start with, each defined once
// here and nowhere else (docs/errors.md describes them). Written in the subset of TypeScript that
// AssemblyScript also compiles, so test/filter/errors-doc.test.ts imports this very file.

// Configuration (proxy_on_configure returns false, except the unknown-field warning).
export const CONFIG_JSON = "FLT_ERR_CONFIG_JSON";
export const CONFIG_TYPE = "FLT_ERR_CONFIG_TYPE";
export const CONFIG_REQUIRED = "FLT_ERR_CONFIG_REQUIRED";
export const CONFIG_RANGE = "FLT_ERR_CONFIG_RANGE";
export const CONFIG_VALUE = "FLT_ERR_CONFIG_VALUE";
export const CONFIG_UNKNOWN_FIELD = "FLT_ERR_CONFIG_UNKNOWN_FIELD";
export const TOO_MANY_ROOTS = "FLT_ERR_TOO_MANY_ROOTS";

// Delivery of batches to the aggregator.
export const HTTP_CALL = "FLT_ERR_HTTP_CALL";
export const FLUSH_FAILED = "FLT_ERR_FLUSH_FAILED";
export const BATCH_REJECTED = "FLT_ERR_BATCH_REJECTED";
export const BATCH_DROPPED = "FLT_ERR_BATCH_DROPPED";

// Recording.
export const SERIES_OVERFLOW = "FLT_ERR_SERIES_OVERFLOW";
