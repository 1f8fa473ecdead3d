// pluginConfig JSON -> a validated Config, or one error (code, field, reason). FIELDS is the
// contract, DESIGN.md's "Plugin configuration": one row per field drives the parsing and its
// checks, the unknown-field warnings and the effective-config echo in the configured log line.
// Code reads a value by its F_* position.
import { JsonParser, JsonValue, J_ARR, J_BOOL, J_NUM, J_OBJ, J_STR, kindName } from "./json";
import { asciiLower, isPrintableAscii, isToken } from "./lex";
import { LOG_WARN } from "./abi";
import * as E from "./errors";
import * as L from "./log-line";

// What a field holds.
const K_STRING = 0;
const K_INT = 1;
const K_STRINGS = 2; // an array of strings
const K_BOOL = 3;    // true / false, kept in `ints` as 1 / 0

// The check a string (or each string of an array) passes beyond its type and length.
const R_ANY = 0;
const R_REQUIRED = 1;      // must be present
const R_PRINTABLE = 2;     // visible ASCII, no spaces
const R_PATH = 3;          // R_PRINTABLE starting with '/'
const R_HEADER_NAME = 4;   // an HTTP token; kept lower-cased
const R_METRIC_NAME = 5;   // an HTTP token
const R_TIER = 6;          // lower-case R_PRINTABLE, not reserved, not repeated

// @ts-ignore: decorator
@inline function spec(field: i32, column: i32): i32 { return unchecked(FIELD_SPECS[field * COLUMNS + column]); }
const C_KIND = 0, C_RULE = 1, C_MIN = 2, C_MAX = 3, C_ITEM = 4, C_DEFAULT = 5;

// The table, as static data (no code builds it). One row per field, in the order fields are
// checked and echoed; `max` is bytes for a string, entries for an array of strings (each of at
// most `item` bytes). Units beside each.
// prettier-ignore
const FIELD_NAMES: StaticArray<string> = [
  "aggregator_cluster", "aggregator_authority", "aggregator_path", "flush_interval_ms", "tier_header",
  "tiers", "region_default", "app_timing_metric", "max_series", "max_buffered_batches",
  "exemplars_sampled_only",
];
const COLUMNS = 6;
// prettier-ignore
const FIELD_SPECS: StaticArray<i32> = [
  // kind     rule            min   max    item  default (K_INT)
  K_STRING,   R_REQUIRED,     0,    1024,  0,    0,     // aggregator_cluster
  K_STRING,   R_PRINTABLE,    0,    512,   0,    0,     // aggregator_authority (default: the cluster's FQDN without port)
  K_STRING,   R_PATH,         0,    1024,  0,    0,     // aggregator_path
  K_INT,      R_ANY,          100,  60000, 0,    1000,  // flush_interval_ms (ms)
  K_STRING,   R_HEADER_NAME,  0,    256,   0,    0,     // tier_header
  K_STRINGS,  R_TIER,         0,    64,    64,   0,     // tiers
  K_STRING,   R_ANY,          0,    128,   0,    0,     // region_default
  K_STRING,   R_METRIC_NAME,  0,    128,   0,    0,     // app_timing_metric
  K_INT,      R_ANY,          16,   65536, 0,    1024,  // max_series (series)
  K_INT,      R_ANY,          0,    1024,  0,    16,    // max_buffered_batches (batches)
  K_BOOL,     R_ANY,          0,    1,     0,    1,     // exemplars_sampled_only
];
// Default of each K_STRING field ("" when required or derived).
// prettier-ignore
const FIELD_DEFAULTS: StaticArray<string> = [
  "", "", "/v1/batches", "", "x-user-tier", "", "unknown", "app", "", "", "",
];
const DEFAULT_TIERS: string[] = ["free", "standard", "premium", "enterprise"];

// Positions in FIELDS, for the code that reads a value.
export const F_AGGREGATOR_CLUSTER: i32 = 0;
export const F_AGGREGATOR_AUTHORITY: i32 = 1;
export const F_AGGREGATOR_PATH: i32 = 2;
export const F_FLUSH_INTERVAL_MS: i32 = 3;
export const F_TIER_HEADER: i32 = 4;
export const F_TIERS: i32 = 5;
export const F_REGION_DEFAULT: i32 = 6;
export const F_APP_TIMING_METRIC: i32 = 7;
export const F_MAX_SERIES: i32 = 8;
export const F_MAX_BUFFERED_BATCHES: i32 = 9;
export const F_EXEMPLARS_SAMPLED_ONLY: i32 = 10;

/** Labels the filter itself uses for the tier; an allow-list may not contain them. */
const RESERVED_TIERS: string[] = ["unknown", "other", "overflow"];

/** A validated configuration: one value per field of FIELDS (by position; parseConfig fills
 * them), defaults where not set. */
export class Config {
  strs: StaticArray<string> = new StaticArray<string>(FIELD_NAMES.length);
  ints: StaticArray<i32> = new StaticArray<i32>(FIELD_NAMES.length);
  lists: StaticArray<string[]> = new StaticArray<string[]>(FIELD_NAMES.length);
  /** `aggregator_authority` was not given: the POST's :authority is then prefixed with the
   * proxy's workload (see Plugin), which is what Envoy's ring hash pins to one replica. */
  shardAuthority: bool = false;

  constructor() {
    for (let i = 0; i < FIELD_NAMES.length; i++) {
      unchecked(this.strs[i] = FIELD_DEFAULTS[i]);
      unchecked(this.ints[i] = spec(i, C_DEFAULT));
      unchecked(this.lists[i] = DEFAULT_TIERS);
    }
  }

  str(f: i32): string { return unchecked(this.strs[f]); }
  int(f: i32): i32 { return unchecked(this.ints[f]); }
  strings(f: i32): string[] { return unchecked(this.lists[f]); }

  /** Appends the effective configuration as JSON (every field, in FIELDS order) to the log line. */
  echo(): void {
    L.text(staticText("{"));
    for (let i = 0; i < FIELD_NAMES.length; i++) {
      const kind = spec(i, C_KIND);
      if (i > 0) L.text(staticText(","));
      L.quoted(unchecked(FIELD_NAMES[i]));
      L.text(staticText(":"));
      if (kind == K_INT) L.num(unchecked(this.ints[i]));
      else if (kind == K_BOOL) L.text(unchecked(this.ints[i]) != 0 ? staticText("true") : staticText("false"));
      else if (kind == K_STRING) L.quoted(unchecked(this.strs[i]));
      else {
        const l = unchecked(this.lists[i]);
        L.text(staticText("["));
        for (let k = 0; k < l.length; k++) {
          if (k > 0) L.text(staticText(","));
          L.quoted(l[k]);
        }
        L.text(staticText("]"));
      }
    }
    L.text(staticText("}"));
  }
}

/** Default `:authority` of the POST: the FQDN of an Istio `dir|port|subset|fqdn` cluster name,
 * else the cluster name itself, without a `:port`. */
export function defaultAuthority(cluster: string): string {
  let host = cluster;
  const bar = cluster.lastIndexOf("|");
  if (bar >= 0) host = cluster.substring(bar + 1);
  if (host.length == 0) host = cluster;
  const colon = host.lastIndexOf(":");
  if (colon > 0 && host.indexOf(":") == colon) host = host.substring(0, colon);
  return host;
}

/** ruleFailure's answer for a reserved tier (its reason names the value). */
const RESERVED: usize = 1;

/** Why `s` fails `rule` (static text, or RESERVED), or 0 when it passes. */
// @ts-ignore: decorator
@inline
function ruleFailure(rule: i32, s: string): usize {
  switch (rule) {
    case R_PRINTABLE:
      return isPrintableAscii(s) ? 0 : staticText("must be printable ASCII without spaces");
    case R_PATH:
      return s.charCodeAt(0) == 0x2f && isPrintableAscii(s) ? 0 : staticText("must start with '/' and be printable ASCII without spaces");
    case R_HEADER_NAME:
      return isToken(s) ? 0 : staticText("must be a valid HTTP header name");
    case R_METRIC_NAME:
      return isToken(s) ? 0 : staticText("must be a Server-Timing metric name (an HTTP token)");
    case R_TIER:
      if (!isPrintableAscii(s) || asciiLower(s) != s) return staticText("must be lower-case printable ASCII without spaces");
      return RESERVED_TIERS.includes(s) ? RESERVED : 0;
  }
  return 0;
}

/** Starts the error line of a configuration that fails: `<code> field=<field>: `, the caller
 * appends the reason. Only the first failure makes the line (every caller stops at it). */
class Checker {
  failed: bool = false;

  fail(code: string, field: string): bool {
    if (this.failed) return false;
    this.failed = true;
    L.str(code);
    L.text(staticText(" field="));
    L.str(field);
    L.text(staticText(": "));
    return true;
  }

  /** `<reason><JSON kind of v>`: a value of the wrong type. */
  wrongType(field: string, reason: usize, v: JsonValue): void {
    if (this.fail(E.CONFIG_TYPE, field)) { L.text(reason); L.text(kindName(v.kind)); }
  }

  /** A non-empty string of at most `maxLen` bytes passing `rule`; null after fail(). */
  str(v: JsonValue, field: string, maxLen: i32, rule: i32): string | null {
    if (v.kind != J_STR) { this.wrongType(field, staticText("must be a string, got "), v); return null; }
    if (v.s.length == 0) { if (this.fail(E.CONFIG_VALUE, field)) L.text(staticText("must not be empty")); return null; }
    if (String.UTF8.byteLength(v.s) > maxLen) {
      if (this.fail(E.CONFIG_RANGE, field)) { L.text(staticText("must be at most ")); L.num(maxLen); L.text(staticText(" bytes")); }
      return null;
    }
    const why = ruleFailure(rule, v.s);
    if (why != 0) {
      if (this.fail(E.CONFIG_VALUE, field)) {
        if (why == RESERVED) { L.text(staticText("'")); L.str(v.s); L.text(staticText("' is reserved")); }
        else L.text(why);
      }
      return null;
    }
    return v.s;
  }

  /** An integer in lo..hi; -1 after fail() (every range here is non-negative). */
  int(v: JsonValue, field: string, lo: i32, hi: i32): i64 {
    if (v.kind != J_NUM) { this.wrongType(field, staticText("must be a number, got "), v); return -1; }
    const n = v.n;
    const fraction = !isFinite(n) || n != Math.floor(n);
    if (fraction || n < <f64>lo || n > <f64>hi) {
      if (this.fail(E.CONFIG_RANGE, field)) {
        L.text(staticText("must be an integer in ")); L.num(lo); L.text(staticText("..")); L.num(hi);
        if (fraction) L.text(staticText(", got a fraction"));
        else { L.text(staticText(", got ")); L.num(<i64>n); }
      }
      return -1;
    }
    return <i64>n;
  }

  /** An array of at most `maxItems` distinct strings; null after fail(). */
  // @ts-ignore: decorator
  @inline
  strings(v: JsonValue, field: string, maxItems: i32, itemMax: i32, rule: i32): string[] | null {
    if (v.kind != J_ARR) { this.wrongType(field, staticText("must be an array of strings, got "), v); return null; }
    if (v.items.length > maxItems) {
      if (this.fail(E.CONFIG_RANGE, field)) { L.text(staticText("must have at most ")); L.num(maxItems); L.text(staticText(" entries")); }
      return null;
    }
    const list = new Array<string>();
    for (let i = 0; i < v.items.length; i++) {
      const at = field + "[" + i.toString() + "]";
      const s = this.str(v.items[i], at, itemMax, rule);
      if (s === null) return null;
      if (list.includes(s)) {
        if (this.fail(E.CONFIG_VALUE, at)) { L.text(staticText("duplicate tier '")); L.str(s); L.text(staticText("'")); }
        return null;
      }
      list.push(s);
    }
    return list;
  }
}

function isField(name: string): bool {
  for (let i = 0; i < FIELD_NAMES.length; i++) if (unchecked(FIELD_NAMES[i]) == name) return true;
  return false;
}

/** Parses and validates `bytes[0..len)`. An empty configuration counts as `{}`. Null when it
 * is invalid: the error line (code, `field=`, reason) is then built in the log line (log-line.ts)
 * for the caller to log at error level. Unknown-field warnings are logged as they are found. */
export function parseConfig(ptr: usize, len: usize): Config | null {
  const ck = new Checker();
  let root: JsonValue | null;
  if (len == 0) {
    root = new JsonValue();
    root.kind = J_OBJ;
  } else {
    const p = new JsonParser(ptr, len);
    root = p.parse();
    if (root === null) {
      ck.fail(E.CONFIG_JSON, "(config)");
      L.text(staticText("not valid JSON: ")); L.text(p.error); L.text(staticText(" at byte ")); L.num(<i64>p.errorAt);
      return null;
    }
  }
  if (root.kind != J_OBJ) { ck.wrongType("(config)", staticText("must be a JSON object, got "), root); return null; }

  for (let i = 0; i < root.keys.length; i++) {
    const k = root.keys[i];
    if (!isField(k)) {
      L.str(E.CONFIG_UNKNOWN_FIELD); L.text(staticText(" field=")); L.str(k); L.text(staticText(": unknown field ignored"));
      L.emit(LOG_WARN);
    }
  }

  const c = new Config();
  let authoritySet = false;
  for (let i = 0; i < FIELD_NAMES.length; i++) {
    const name = unchecked(FIELD_NAMES[i]);
    const kind = spec(i, C_KIND);
    const rule = spec(i, C_RULE);
    const v = root.get(name);
    if (v === null) {
      if (rule == R_REQUIRED) { if (ck.fail(E.CONFIG_REQUIRED, name)) L.text(staticText("is required")); return null; }
      continue;
    }
    if (kind == K_BOOL) {
      if (v.kind != J_BOOL) { ck.wrongType(name, staticText("must be a boolean, got "), v); return null; }
      unchecked(c.ints[i] = v.b ? 1 : 0);
    } else if (kind == K_INT) {
      const n = ck.int(v, name, spec(i, C_MIN), spec(i, C_MAX));
      if (n < 0) return null;
      unchecked(c.ints[i] = <i32>n);
    } else if (kind == K_STRING) {
      const s = ck.str(v, name, spec(i, C_MAX), rule);
      if (s === null) return null;
      unchecked(c.strs[i] = rule == R_HEADER_NAME ? asciiLower(s) : s);
      if (i == F_AGGREGATOR_AUTHORITY) authoritySet = true;
    } else {
      const l = ck.strings(v, name, spec(i, C_MAX), spec(i, C_ITEM), rule);
      if (l === null) return null;
      unchecked(c.lists[i] = l);
    }
  }
  if (!authoritySet) {
    unchecked(c.strs[F_AGGREGATOR_AUTHORITY] = defaultAuthority(c.strs[F_AGGREGATOR_CLUSTER]));
    c.shardAuthority = true;
  }
  return c;
}
