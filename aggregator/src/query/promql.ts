// The PromQL behind the views from Prometheus (prometheus-source.ts): per-series window
// increases that survive restarts, lost replicas and missed scrapes, summed across replicas.
// Why not increase(): Prometheus extrapolates it to the range's edges and drops the first sample
// of a series born inside the range (promql/functions.go, extrapolatedRate, v2.42), so a label
// set seen once — one 503 — would count 0, and counts would not be whole numbers.
import { LABEL_NAMES } from "../wire/types.ts";

const BY = LABEL_NAMES.join(",");

/** Prometheus' default lookback delta: a series silent for longer counts as gone (or restarted). */
export const GAP_S = 300;

/** Scrapes a step may look back over for the previous value: missed scrapes up to this are bridged. */
const BRIDGE_STEPS = 3;
/** A replica's start time (self-metrics): a change is a restart. */
const START_TIME = "meshlat_aggregator_start_time_seconds";

/** `metric{m1,m2}`; `matchers` are PromQL label matchers (see matcher()). */
export function selector(metric: string, matchers: readonly string[]): string {
  return matchers.length ? `${metric}{${matchers.join(",")}}` : metric;
}

/** A label matcher for one label value (PromQL string escaping). */
export function matcher(name: string, value: string): string {
  return `${name}=${JSON.stringify(value)}`;
}

/** A matcher for any of `values` exactly (`op` "!~": for none of them); RE2 metacharacters escaped. */
export function anyOf(name: string, values: readonly string[], op: "=~" | "!~" = "=~"): string {
  return `${name}${op}${JSON.stringify(values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"))}`;
}

/**
 * PromQL: the increase of counter `metric` over the `windowS` ending at the evaluation time,
 * per series, summed `by` the ten labels (`extra`: further `by` labels, e.g. ",le").
 * - Instances without a restart or reset: last value in the window − last value in the GAP_S
 *   before it (or 0). A replica gone inside the window keeps its last sample; a missed scrape
 *   changes nothing.
 * - `resetInstances` (resetInstancesQuery): the sum of the increases between steps of `stepS`
 *   (the scrape interval), a step after a restart, a drop or a gap longer than BRIDGE_STEPS
 *   counting its whole value (the counter restarted from 0). Costs window/step evaluations per
 *   series: only those replicas' series pay it.
 */
export function windowIncrease(metric: string, matchers: readonly string[], windowS: number, stepS: number, resetInstances: readonly string[], extra = "", of?: (sel: string) => string): string {
  // A float function of a native histogram (histogram_count) has no range selector of its own in
  // 2.42 (last_over_time ignores histogram samples): it is sampled by a subquery at the step.
  const range = (m: string, r: number) => (of ? `${of(m)}[${r}s:${stepS}s]` : `${m}[${r}s]`);
  const at = (m: string) => (of ? of(m) : m);
  const lastMinusBase = (m: string) => {
    const last = `last_over_time(${range(m, windowS)})`;
    return `(${last} - (last_over_time(${range(m, GAP_S)} offset ${windowS}s) or ${last} * 0))`;
  };
  const sum = (perSeries: string) => `sum by (${BY}${extra}) (${perSeries})`;
  if (resetInstances.length === 0) return sum(lastMinusBase(selector(metric, matchers)));
  const others = selector(metric, [...matchers, anyOf("instance", resetInstances, "!~")]);
  const m = selector(metric, [...matchers, anyOf("instance", resetInstances)]);
  // Per step: the increase since the last value within BRIDGE_STEPS steps before (a missed
  // scrape or two is bridged), or the whole value when there is none, when it dropped, or when
  // it belongs to another life of the replica than that last value (its start time, paired with
  // each sample, changed: a restart, even one whose counters came back higher).
  const bridge = BRIDGE_STEPS * stepS;
  const prev = of ? `last_over_time(${of(m)}[${bridge}s:${stepS}s] offset ${stepS}s)` : `last_over_time(${m}[${bridge}s] offset ${stepS}s)`;
  const life = `(${at(m)} * 0 + on (instance) group_left () ${selector(START_TIME, [anyOf("instance", resetInstances)])})`;
  const sameLife = `(${life} == last_over_time(${life}[${bridge}s:${stepS}s] offset ${stepS}s))`;
  const inc = `(((${at(m)} - ${prev}) >= 0) and ${sameLife}) or ${at(m)} + 0`;
  const steps = `sum_over_time((${inc})[${Math.max(stepS, windowS - stepS)}s:${stepS}s])`;
  return sum(`${lastMinusBase(others)} or ${steps}`);
}

/**
 * PromQL: the instances that restarted in the window or just before it (their start time
 * changed), or with a request counter reset (a label set that expired after series_ttl_s and
 * came back: its timings expire with it). A restart is caught even when the new counters passed
 * the old values, which resets() misses.
 */
export function resetInstancesQuery(matchers: readonly string[], windowS: number): string {
  const r = `${windowS + GAP_S}s`;
  return `count by (instance) (changes(${START_TIME}[${r}]) > 0) or count by (instance) (resets(${selector("meshlat_requests_total", matchers)}[${r}]) > 0)`;
}

/**
 * PromQL: the time (Unix s) of the oldest scrape of any replica within the window. With data
 * younger than the window, rates divide by the time since then, not by the nominal window
 * (the local store does the same, AggregatorState.spanMs).
 */
export function firstScrapeQuery(windowS: number, stepS: number): string {
  return `min(min_over_time(timestamp(meshlat_aggregator_series)[${windowS}s:${stepS}s]))`;
}
