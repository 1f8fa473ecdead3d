// Decoded value → Batch, checking every rule of docs/wire-format.md before anything is merged,
// so that a malformed or hostile batch can never corrupt the store. Pure; throws AggError with
// the JSON-pointer-like `path` of the first offending field.
import { COUNTER_KEYS, LABEL_NAMES, TIMING_NAMES } from "./types.ts";
import type { Batch, CounterKey, Timing, WireLimits, WireSeries } from "./types.ts";
import { AggError } from "../errors.ts";
import { arr, fail, typeName, u, uint } from "./checks.ts";
import { seriesV2 } from "./validate-v2.ts";

const VM_RE = /^[0-9a-f]{16}$/;
const N_LABELS = LABEL_NAMES.length;
const N_TIMINGS = TIMING_NAMES.length;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function str(v: unknown, path: string, maxLen: number): string {
  if (typeof v !== "string") fail(path, `expected a string, got ${typeName(v)}`);
  if (v.length > maxLen) fail(path, `string longer than ${maxLen}`);
  return v;
}

/** A label value (or proxy identity string): NUL separates values in store and VM keys, so a
 *  value holding one could collide with another pair; no real value carries it. */
function label(v: unknown, path: string, maxLen: number): string {
  const s = str(v, path, maxLen);
  if (s.includes("\u0000")) fail(path, "NUL is not allowed in label values");
  return s;
}

function required(o: Record<string, unknown>, key: string, path: string): unknown {
  if (!Object.prototype.hasOwnProperty.call(o, key)) fail(`${path}${key}`, "missing required key");
  return o[key];
}

function timing(v: unknown, p: () => string, bounds: readonly number[], count: number): Timing | null {
  if (v === null || v === undefined) return null;
  const nBuckets = bounds.length + 1;
  const t = Array.isArray(v) && v.length === 3 ? v : arr(v, p(), 3, 3);
  const n = u(t[0], () => `${p()}/0`);
  if (n > count) fail(`${p()}/0`, `${n} observations in a series of ${count} requests`);
  const sumUs = u(t[1], () => `${p()}/1`);
  const b = Array.isArray(t[2]) && t[2].length <= 2 * nBuckets ? (t[2] as unknown[]) : arr(t[2], `${p()}/2`, 2 * nBuckets);
  if (b.length % 2 !== 0) fail(`${p()}/2`, "sparse buckets must be [index, count] pairs");
  const buckets = new Array<number>(b.length);
  let prev = -1;
  let total = 0;
  // The values in bucket i lie in (bounds[i-1], bounds[i]], so the sum lies in [lo, hi]; a sum
  // outside it (e.g. 2^53 µs for one 20-µs request) would skew every mean it is merged into.
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < b.length; i += 2) {
    const idx = u(b[i], () => `${p()}/2/${i}`);
    if (idx >= nBuckets) fail(`${p()}/2/${i}`, `bucket index ${idx} out of range 0..${nBuckets - 1}`);
    if (idx <= prev) fail(`${p()}/2/${i}`, "bucket indices must be strictly increasing");
    prev = idx;
    const c = u(b[i + 1], () => `${p()}/2/${i + 1}`);
    total += c;
    if (idx > 0) lo += c * bounds[idx - 1]!;
    hi += idx < bounds.length ? c * bounds[idx]! : c > 0 ? Infinity : 0;
    buckets[i] = idx;
    buckets[i + 1] = c;
  }
  if (total !== n) fail(`${p()}/2`, `bucket counts add up to ${total}, not n=${n}`);
  if (!Number.isSafeInteger(total)) fail(`${p()}/2`, "bucket counts overflow");
  if (sumUs < lo || sumUs > hi) fail(`${p()}/1`, `sum ${sumUs} µs is outside the range its buckets allow [${lo}, ${hi}]`);
  return { n, sumUs, buckets };
}

export function validateBatch(value: unknown, limits: WireLimits): Batch {
  if (!isObj(value)) fail("/", `expected a map, got ${typeName(value)}`);
  const v = required(value, "v", "/");
  if (typeof v !== "number" && typeof v !== "bigint") fail("/v", `expected an unsigned integer, got ${typeName(v)}`);
  if (v !== 1 && v !== 1n && v !== 2 && v !== 2n) throw new AggError("AGG_ERR_VERSION", `unsupported format version ${String(v)} (this aggregator reads v1 and v2)`, "/v");
  const version = Number(v) as 1 | 2;

  const maxL = limits.maxLabelLength;
  const p = required(value, "proxy", "/");
  if (!isObj(p)) fail("/proxy", `expected a map, got ${typeName(p)}`);
  const proxy = {
    id: label(required(p, "id", "/proxy/"), "/proxy/id", maxL),
    // Kubernetes names: a namespace is a DNS label (63), a workload a DNS subdomain (253).
    workload: label(required(p, "workload", "/proxy/"), "/proxy/workload", Math.min(maxL, 253)),
    namespace: label(required(p, "namespace", "/proxy/"), "/proxy/namespace", Math.min(maxL, 63)),
    region: label(required(p, "region", "/proxy/"), "/proxy/region", maxL),
  };
  const vm = str(required(value, "vm", "/"), "/vm", 16);
  if (!VM_RE.test(vm)) fail("/vm", "expected 16 lower-case hex digits");
  const seq = uint(required(value, "seq", "/"), "/seq");
  if (seq < 1) fail("/seq", "sequence numbers start at 1");

  const w = arr(required(value, "window", "/"), "/window", 2, 2);
  const window: [number, number] = [uint(w[0], "/window/0"), uint(w[1], "/window/1")];
  if (window[0] > window[1]) fail("/window", "start is after end");

  let boundsUs: number[] = [];
  if (version === 1) {
    const bw = arr(required(value, "bounds_us", "/"), "/bounds_us", limits.maxBounds);
    if (bw.length === 0) fail("/bounds_us", "at least one bound is required");
    boundsUs = new Array<number>(bw.length);
    for (let i = 0; i < bw.length; i++) {
      boundsUs[i] = uint(bw[i], `/bounds_us/${i}`);
      if (i > 0 && boundsUs[i]! <= boundsUs[i - 1]!) fail(`/bounds_us/${i}`, "bounds must be strictly increasing");
    }

  }
  const lw = arr(required(value, "labels", "/"), "/labels", N_LABELS, N_LABELS);
  for (let i = 0; i < N_LABELS; i++) if (lw[i] !== LABEL_NAMES[i]) fail(`/labels/${i}`, `expected "${LABEL_NAMES[i]}" (label order)`);

  const sw = arr(required(value, "strings", "/"), "/strings", limits.maxStrings);
  for (let i = 0; i < sw.length; i++) label(sw[i], `/strings/${i}`, maxL);
  const strings = sw as string[];

  const rw = arr(required(value, "series", "/"), "/series", limits.maxSeries);
  const series = version === 2 ? seriesV2(rw, strings, limits) : new Array<WireSeries>(rw.length);
  for (let s = 0; version === 1 && s < rw.length; s++) {
    const path = () => `/series/${s}`;
    const rs = rw[s];
    const r = Array.isArray(rs) && rs.length === 3 ? rs : arr(rs, path(), 3, 3);
    const li = Array.isArray(r[0]) && r[0].length === N_LABELS ? (r[0] as unknown[]) : arr(r[0], `${path()}/0`, N_LABELS, N_LABELS);
    const labels = new Array<string>(N_LABELS);
    for (let i = 0; i < N_LABELS; i++) {
      const idx = u(li[i], () => `${path()}/0/${i}`);
      if (idx >= strings.length) fail(`${path()}/0/${i}`, `string index ${idx} out of range (table has ${strings.length})`);
      labels[i] = strings[idx]!;
    }
    const count = u(r[1], () => `${path()}/1`);
    const tw = Array.isArray(r[2]) && r[2].length === N_TIMINGS ? (r[2] as unknown[]) : arr(r[2], `${path()}/2`, N_TIMINGS, N_TIMINGS);
    const timings = new Array<Timing | null>(N_TIMINGS);
    for (let t = 0; t < N_TIMINGS; t++) timings[t] = tw[t] == null ? null : timing(tw[t], () => `/series/${s}/2/${t}`, boundsUs, count);
    series[s] = { labels, count, timings };
  }

  const cw = required(value, "counters", "/");
  if (!isObj(cw)) fail("/counters", `expected a map, got ${typeName(cw)}`);
  const counters = {} as Record<CounterKey, number>;
  // Unknown counter keys are ignored (forward compatibility within v1); a missing one reads 0.
  for (const k of COUNTER_KEYS) counters[k] = Object.prototype.hasOwnProperty.call(cw, k) ? uint(cw[k], `/counters/${k}`) : 0;

  return { v: version, proxy, vm, seq, window, boundsUs, series, counters };
}
