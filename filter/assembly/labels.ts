// The labels of every series, in wire order (docs/wire-format.md `labels`): the one table to
// change to add a label. Everything else is derived from it: the series key size, its hashing,
// comparison and copy (series.ts), the batch's `labels` array and per-series label ids
// (encode.ts), the catch-all series (every label `overflow`). docs/adding-a-label.md walks
// through it.
//
// A row is a label's name and where its value comes from:
//   ""        the rule in resolve.ts for its L_* position below
//   a path    the value of that host property, segments joined by NUL (e.g. "request\0protocol",
//             or "request\0headers\0x-api-version" for a request header), kept as it is, or
//             `unknown` when absent or empty
// prettier-ignore
export const LABELS: StaticArray<string> = [
  // name                          value
  "reporter",                      "",
  "source_workload",               "",
  "source_namespace",              "",
  "destination_service",           "",
  "response_code",                 "",
  "response_flags",                "",
  "connection_security_policy",    "",
  "user_tier",                     "",
  "region",                        "",
  "peer_region",                   "",
];
const COLUMNS = 2;

/** Number of labels: the length of the table. */
export const N_LABELS: i32 = LABELS.length / COLUMNS;

// Positions of the rule-resolved labels (rows of LABELS, in order).
export const L_REPORTER: i32 = 0;
export const L_SOURCE_WORKLOAD: i32 = 1;
export const L_SOURCE_NAMESPACE: i32 = 2;
export const L_DESTINATION_SERVICE: i32 = 3;
export const L_RESPONSE_CODE: i32 = 4;
export const L_RESPONSE_FLAGS: i32 = 5;
export const L_CONNECTION_SECURITY_POLICY: i32 = 6;
export const L_USER_TIER: i32 = 7;
export const L_REGION: i32 = 8;
export const L_PEER_REGION: i32 = 9;

// @ts-ignore: decorator
@inline export function labelName(i: i32): string { return unchecked(LABELS[i * COLUMNS]); }
/** The property path a label is read from; "" for a rule-resolved label. */
// @ts-ignore: decorator
@inline export function labelProperty(i: i32): string { return unchecked(LABELS[i * COLUMNS + 1]); }
