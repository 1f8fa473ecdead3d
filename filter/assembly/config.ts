// pluginConfig JSON -> a validated Config, or one error (code, field, reason). The table of
// fields, defaults and ranges is DESIGN.md's "Plugin configuration"; units sit beside each.
import { JsonParser, JsonValue, J_ARR, J_NUM, J_OBJ, J_STR, kindName, jsonQuote } from "./json";

export class Config {
  aggregatorCluster: string = "";
  aggregatorAuthority: string = "";   // default: the cluster's FQDN without port
  aggregatorPath: string = "/v1/batches";
  flushIntervalMs: i32 = 1000;        // ms, 100..60000
  tierHeader: string = "x-user-tier"; // lower-cased header name
  tiers: string[] = ["free", "standard", "premium", "enterprise"];
  regionDefault: string = "unknown";
  appTimingMetric: string = "app";
  maxSeries: i32 = 1024;              // series, 16..65536
  maxBufferedBatches: i32 = 16;       // batches, 0..1024

  toJson(): string {
    let t = "[";
    for (let i = 0; i < this.tiers.length; i++) t += (i > 0 ? "," : "") + jsonQuote(this.tiers[i]);
    t += "]";
    return "{\"aggregator_cluster\":" + jsonQuote(this.aggregatorCluster) +
      ",\"aggregator_authority\":" + jsonQuote(this.aggregatorAuthority) +
      ",\"aggregator_path\":" + jsonQuote(this.aggregatorPath) +
      ",\"flush_interval_ms\":" + this.flushIntervalMs.toString() +
      ",\"tier_header\":" + jsonQuote(this.tierHeader) +
      ",\"tiers\":" + t +
      ",\"region_default\":" + jsonQuote(this.regionDefault) +
      ",\"app_timing_metric\":" + jsonQuote(this.appTimingMetric) +
      ",\"max_series\":" + this.maxSeries.toString() +
      ",\"max_buffered_batches\":" + this.maxBufferedBatches.toString() + "}";
  }
}

export class ConfigResult {
  config: Config | null = null;
  code: string = "";     // FLT_ERR_* when config is null
  field: string = "";
  reason: string = "";
  warnings: string[] = []; // full warn lines (unknown fields)

  errorLine(): string {
    return this.code + " field=" + this.field + ": " + this.reason;
  }
}

const KNOWN: string[] = [
  "aggregator_cluster", "aggregator_authority", "aggregator_path", "flush_interval_ms",
  "tier_header", "tiers", "region_default", "app_timing_metric", "max_series",
  "max_buffered_batches",
];

/** Labels the filter itself uses for the tier; an allow-list may not contain them. */
const RESERVED_TIERS: string[] = ["unknown", "other", "overflow"];

/** RFC 7230 tchar: the characters of a header name or Server-Timing metric name. */
export function isTokenChar(c: i32): bool {
  if (c >= 0x30 && c <= 0x39) return true;
  if (c >= 0x41 && c <= 0x5a) return true;
  if (c >= 0x61 && c <= 0x7a) return true;
  switch (c) {
    case 0x21: case 0x23: case 0x24: case 0x25: case 0x26: case 0x27: case 0x2a: case 0x2b:
    case 0x2d: case 0x2e: case 0x5e: case 0x5f: case 0x60: case 0x7c: case 0x7e:
      return true;
  }
  return false;
}

/** ASCII-only lower-casing (String#toLowerCase drags Unicode tables into the module). */
function asciiLower(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
  }
  return out;
}

function isToken(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return true;
}

function isPrintableAscii(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
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

class Checker {
  res: ConfigResult;
  constructor(res: ConfigResult) { this.res = res; }

  fail(code: string, field: string, reason: string): bool {
    if (this.res.code.length == 0) {
      this.res.code = code; this.res.field = field; this.res.reason = reason;
    }
    return false;
  }

  str(v: JsonValue, field: string, maxLen: i32): string | null {
    if (v.kind != J_STR) { this.fail("FLT_ERR_CONFIG_TYPE", field, "must be a string, got " + kindName(v.kind)); return null; }
    if (v.s.length == 0) { this.fail("FLT_ERR_CONFIG_VALUE", field, "must not be empty"); return null; }
    if (String.UTF8.byteLength(v.s) > maxLen) {
      this.fail("FLT_ERR_CONFIG_RANGE", field, "must be at most " + maxLen.toString() + " bytes"); return null;
    }
    return v.s;
  }

  int(v: JsonValue, field: string, lo: i32, hi: i32): i64 {
    if (v.kind != J_NUM) { this.fail("FLT_ERR_CONFIG_TYPE", field, "must be a number, got " + kindName(v.kind)); return -1; }
    const n = v.n;
    const range = "must be an integer in " + lo.toString() + ".." + hi.toString();
    if (!isFinite(n) || n != Math.floor(n)) { this.fail("FLT_ERR_CONFIG_RANGE", field, range + ", got a fraction"); return -1; }
    if (n < <f64>lo || n > <f64>hi) {
      this.fail("FLT_ERR_CONFIG_RANGE", field, range + ", got " + (<i64>n).toString()); return -1;
    }
    return <i64>n;
  }
}

/** Parses and validates `bytes[0..len)`. An empty configuration counts as `{}`. */
export function parseConfig(ptr: usize, len: usize): ConfigResult {
  const res = new ConfigResult();
  const ck = new Checker(res);
  let root: JsonValue | null;
  if (len == 0) {
    root = new JsonValue();
    root.kind = J_OBJ;
  } else {
    const p = new JsonParser(ptr, len);
    root = p.parse();
    if (root === null) { ck.fail("FLT_ERR_CONFIG_JSON", "(config)", "not valid JSON: " + p.error); return res; }
  }
  if (root.kind != J_OBJ) { ck.fail("FLT_ERR_CONFIG_TYPE", "(config)", "must be a JSON object, got " + kindName(root.kind)); return res; }

  const c = new Config();
  for (let i = 0; i < root.keys.length; i++) {
    const k = root.keys[i];
    if (!KNOWN.includes(k)) {
      res.warnings.push("FLT_ERR_CONFIG_UNKNOWN_FIELD field=" + k + ": unknown field ignored");
    }
  }

  let v = root.get("aggregator_cluster");
  if (v === null) { ck.fail("FLT_ERR_CONFIG_REQUIRED", "aggregator_cluster", "is required"); return res; }
  let s = ck.str(v, "aggregator_cluster", 1024);
  if (s === null) return res;
  c.aggregatorCluster = s;
  c.aggregatorAuthority = defaultAuthority(s);

  v = root.get("aggregator_authority");
  if (v !== null) {
    s = ck.str(v, "aggregator_authority", 512);
    if (s === null) return res;
    if (!isPrintableAscii(s)) { ck.fail("FLT_ERR_CONFIG_VALUE", "aggregator_authority", "must be printable ASCII without spaces"); return res; }
    c.aggregatorAuthority = s;
  }
  v = root.get("aggregator_path");
  if (v !== null) {
    s = ck.str(v, "aggregator_path", 1024);
    if (s === null) return res;
    if (s.charCodeAt(0) != 0x2f || !isPrintableAscii(s)) { ck.fail("FLT_ERR_CONFIG_VALUE", "aggregator_path", "must start with '/' and be printable ASCII without spaces"); return res; }
    c.aggregatorPath = s;
  }
  v = root.get("flush_interval_ms");
  if (v !== null) {
    const n = ck.int(v, "flush_interval_ms", 100, 60000);
    if (n < 0) return res;
    c.flushIntervalMs = <i32>n;
  }
  v = root.get("tier_header");
  if (v !== null) {
    s = ck.str(v, "tier_header", 256);
    if (s === null) return res;
    if (!isToken(s)) { ck.fail("FLT_ERR_CONFIG_VALUE", "tier_header", "must be a valid HTTP header name"); return res; }
    c.tierHeader = asciiLower(s);
  }
  v = root.get("tiers");
  if (v !== null) {
    if (v.kind != J_ARR) { ck.fail("FLT_ERR_CONFIG_TYPE", "tiers", "must be an array of strings, got " + kindName(v.kind)); return res; }
    if (v.items.length > 64) { ck.fail("FLT_ERR_CONFIG_RANGE", "tiers", "must have at most 64 entries"); return res; }
    const list = new Array<string>();
    for (let i = 0; i < v.items.length; i++) {
      const f = "tiers[" + i.toString() + "]";
      const t = ck.str(v.items[i], f, 64);
      if (t === null) return res;
      if (!isPrintableAscii(t) || asciiLower(t) != t) { ck.fail("FLT_ERR_CONFIG_VALUE", f, "must be lower-case printable ASCII without spaces"); return res; }
      if (RESERVED_TIERS.includes(t)) { ck.fail("FLT_ERR_CONFIG_VALUE", f, "'" + t + "' is reserved"); return res; }
      if (list.includes(t)) { ck.fail("FLT_ERR_CONFIG_VALUE", f, "duplicate tier '" + t + "'"); return res; }
      list.push(t);
    }
    c.tiers = list;
  }
  v = root.get("region_default");
  if (v !== null) {
    s = ck.str(v, "region_default", 128);
    if (s === null) return res;
    c.regionDefault = s;
  }
  v = root.get("app_timing_metric");
  if (v !== null) {
    s = ck.str(v, "app_timing_metric", 128);
    if (s === null) return res;
    if (!isToken(s)) { ck.fail("FLT_ERR_CONFIG_VALUE", "app_timing_metric", "must be a Server-Timing metric name (an HTTP token)"); return res; }
    c.appTimingMetric = s;
  }
  v = root.get("max_series");
  if (v !== null) {
    const n = ck.int(v, "max_series", 16, 65536);
    if (n < 0) return res;
    c.maxSeries = <i32>n;
  }
  v = root.get("max_buffered_batches");
  if (v !== null) {
    const n = ck.int(v, "max_buffered_batches", 0, 1024);
    if (n < 0) return res;
    c.maxBufferedBatches = <i32>n;
  }
  res.config = c;
  return res;
}
