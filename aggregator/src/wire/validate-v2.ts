// The v2 series array (docs/wire-format.md "v2"): label tuples as changes against the previous
// series, present timings behind a bit mask, exponential histograms. Every rule is checked
// before anything is merged; throws AggError (AGG_ERR_SCHEMA) with the path of the field.
import { MAX_INDEX_0, MAX_SCALE, MIN_INDEX_0, MIN_SCALE, upperMs } from "./exp-buckets.ts";
import { LABEL_NAMES, TIMING_NAMES } from "./types.ts";
import type { ExpTiming, WireExemplar, WireLimits, WireSeries } from "./types.ts";
import { arr, fail, u } from "./checks.ts";

const NL = LABEL_NAMES.length;
const NT = TIMING_NAMES.length;
const ALL_LABELS = (1 << NL) - 1;
const ALL_TIMINGS = (1 << NT) - 1;

/** A (possibly negative) safe integer. */
function int(v: unknown, path: () => string): number {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "bigint" && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  fail(path(), `expected an integer, got ${typeof v === "number" ? v : typeof v}`);
}

const popcount = (m: number): number => { let c = 0; for (; m; m &= m - 1) c++; return c; };

export function expTiming(v: unknown, p: () => string, count: number, maxBuckets: number): ExpTiming {
  const t = Array.isArray(v) && v.length === 6 ? v : arr(v, p(), 6, 6);
  const n = u(t[0], () => `${p()}/0`);
  if (n > count) fail(`${p()}/0`, `${n} observations in a series of ${count} requests`);
  const sumUs = u(t[1], () => `${p()}/1`);
  const scale = int(t[2], () => `${p()}/2`);
  if (scale < MIN_SCALE || scale > MAX_SCALE) fail(`${p()}/2`, `scale ${scale} out of range ${MIN_SCALE}..${MAX_SCALE}`);
  const zero = u(t[3], () => `${p()}/3`);
  const offset = int(t[4], () => `${p()}/4`);
  const cw = Array.isArray(t[5]) && t[5].length <= maxBuckets ? (t[5] as unknown[]) : arr(t[5], `${p()}/5`, maxBuckets);
  const per = 2 ** scale;
  if (cw.length > 0 && (offset < MIN_INDEX_0 * per || offset + cw.length - 1 > MAX_INDEX_0 * per)) {
    fail(`${p()}/4`, `buckets ${offset}..${offset + cw.length - 1} reach outside ${MIN_INDEX_0 * per}..${MAX_INDEX_0 * per} (1 µs .. 2^${MAX_INDEX_0} ms at scale ${scale})`);
  }
  const counts = new Array<number>(cw.length);
  let total = zero;
  // Each value in bucket i lies in (upper(i-1), upper(i)] ms, so the sum lies between the bounds'
  // weighted sums; a sum outside them would skew every mean it is merged into.
  let lo = 0, hi = 0;
  for (let j = 0; j < cw.length; j++) {
    const c = u(cw[j], () => `${p()}/5/${j}`);
    counts[j] = c;
    if (c === 0) continue;
    total += c;
    lo += c * upperMs(offset + j - 1, scale) * 1000;
    hi += c * upperMs(offset + j, scale) * 1000;
  }
  if (cw.length > 0 && (counts[0] === 0 || counts[cw.length - 1] === 0)) fail(`${p()}/5`, "counts must start and end with an occupied bucket");
  if (!Number.isSafeInteger(total)) fail(`${p()}/5`, "bucket counts overflow");
  if (total !== n) fail(`${p()}/5`, `zero count and bucket counts add up to ${total}, not n=${n}`);
  // Tolerance for the float bounds (values are whole µs, the bounds are not).
  if (sumUs < Math.floor(lo * (1 - 1e-9)) || sumUs > Math.ceil(hi * (1 + 1e-9))) {
    fail(`${p()}/1`, `sum ${sumUs} µs is outside the range its buckets allow [${Math.floor(lo)}, ${Math.ceil(hi)}]`);
  }
  return { n, sumUs, scale, zero, offset, counts };
}

/** [trace_id bin 8|16 (not all zero), value_us uint (≤ the request timing's recorded range), time_ms uint]. */
function exemplarOf(v: unknown, p: () => string, request: ExpTiming | null): WireExemplar {
  const e = arr(v, p(), 3, 3);
  const id = e[0];
  if (!(id instanceof Uint8Array) || (id.length !== 8 && id.length !== 16)) fail(`${p()}/0`, "trace id must be bin of 8 or 16 bytes");
  if (id.every((b) => b === 0)) fail(`${p()}/0`, "trace id is all zero");
  const valueUs = u(e[1], () => `${p()}/1`);
  if (request === null || request.n === 0) fail(`${p()}/1`, "an exemplar needs the request timing it belongs to");
  const timeMs = u(e[2], () => `${p()}/2`);
  return { traceId: Buffer.from(id.buffer, id.byteOffset, id.length).toString("hex"), valueUs, timeMs };
}

export function seriesV2(rw: readonly unknown[], strings: readonly string[], limits: WireLimits): WireSeries[] {
  const series = new Array<WireSeries>(rw.length);
  let prev: string[] | null = null;
  for (let s = 0; s < rw.length; s++) {
    const path = () => `/series/${s}`;
    const rs = rw[s];
    const r = Array.isArray(rs) && rs.length === 3 ? rs : arr(rs, path(), 4);
    if (r.length < 3) fail(path(), `expected 3 or 4 elements, got ${r.length}`);

    const lw = Array.isArray(r[0]) && r[0].length >= 1 && r[0].length <= NL + 1 ? (r[0] as unknown[]) : arr(r[0], `${path()}/0`, NL + 1);
    const mask = u(lw[0], () => `${path()}/0/0`);
    if (mask > ALL_LABELS) fail(`${path()}/0/0`, `label mask ${mask} has bits beyond the ${NL} labels`);
    if (prev === null && mask !== ALL_LABELS) fail(`${path()}/0/0`, `the first series must carry every label (mask ${ALL_LABELS})`);
    if (lw.length !== 1 + popcount(mask)) fail(`${path()}/0`, `mask ${mask} names ${popcount(mask)} labels, ${lw.length - 1} given`);
    const labels: string[] = prev ? prev.slice() : new Array<string>(NL);
    for (let i = 0, k = 1; i < NL; i++) {
      if (!(mask & (1 << i))) continue;
      const idx = u(lw[k], () => `${path()}/0/${k}`);
      if (idx >= strings.length) fail(`${path()}/0/${k}`, `string index ${idx} out of range (table has ${strings.length})`);
      labels[i] = strings[idx]!;
      k++;
    }
    prev = labels;

    const count = u(r[1], () => `${path()}/1`);
    const tw = Array.isArray(r[2]) && r[2].length >= 1 && r[2].length <= NT + 1 ? (r[2] as unknown[]) : arr(r[2], `${path()}/2`, NT + 1);
    const tmask = u(tw[0], () => `${path()}/2/0`);
    if (tmask > ALL_TIMINGS) fail(`${path()}/2/0`, `timing mask ${tmask} has bits beyond the ${NT} timings`);
    if (tw.length !== 1 + popcount(tmask)) fail(`${path()}/2`, `mask ${tmask} names ${popcount(tmask)} timings, ${tw.length - 1} given`);
    const timings = new Array<ExpTiming | null>(NT).fill(null);
    for (let t = 0, k = 1; t < NT; t++) {
      if (!(tmask & (1 << t))) continue;
      const kk = k;
      timings[t] = expTiming(tw[kk], () => `${path()}/2/${kk}`, count, limits.maxTimingBuckets);
      k++;
    }
    series[s] = r.length === 4 ? { labels, count, timings, exemplar: exemplarOf(r[3], () => `${path()}/3`, timings[0]!) } : { labels, count, timings };
  }
  return series;
}
