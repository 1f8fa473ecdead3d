// The v2 series array (docs/wire-format.md "v2"): label tuples as changes against the previous
// series, the timings' exponential histograms packed in one bin (packed-timings.ts). Every rule is checked
// before anything is merged; throws AggError (AGG_ERR_SCHEMA) with the path of the field.
import { LABEL_NAMES } from "./types.ts";
import type { ExpTiming, WireExemplar, WireLimits, WireSeries } from "./types.ts";
import { arr, fail, u } from "./checks.ts";
import { readTimings } from "./packed-timings.ts";

const NL = LABEL_NAMES.length;
const ALL_LABELS = (1 << NL) - 1;

const popcount = (m: number): number => { let c = 0; for (; m; m &= m - 1) c++; return c; };

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
    const timings = readTimings(r[2], () => `${path()}/2`, count, limits.maxTimingBuckets);
    series[s] = r.length === 4 ? { labels, count, timings, exemplar: exemplarOf(r[3], () => `${path()}/3`, timings[0]!) } : { labels, count, timings };
  }
  return series;
}
