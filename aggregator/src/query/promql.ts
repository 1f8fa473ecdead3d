// The PromQL behind the views from Prometheus (prometheus-source.ts): per-series window
// increases that survive restarts, lost replicas and missed scrapes, summed across replicas.
// Why not increase(): Prometheus extrapolates it to the range's edges and drops the first sample
// of a series born inside the range (promql/functions.go, extrapolatedRate, v2.42), so a label
// set seen once — one 503 — would count 0, and counts would not be whole numbers.
import { LABEL_NAMES } from "../wire/types.ts";

const BY = LABEL_NAMES.join(",");

/** Prometheus' default lookback delta: a series silent for longer counts as gone (or restarted). */
export const GAP_S = 300;

/** Steps the step-by-step sum looks back for the previous value: missed scrapes up to this are bridged. */
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

/** Replicas whose counters did not simply grow in the range: they are summed otherwise. */
export interface Special {
  /** A replica that restarted: the times (Unix ms) of the first scrape of each later life. */
  readonly restarts: ReadonlyMap<string, readonly number[]>;
  /** Replicas with a counter drop but no restart (a label set back after series_ttl_s). */
  readonly drops: readonly string[];
  /**
   * Replicas (neither restarted nor dropped) with a series missing at one of the window's edges
   * while it was there before (lost, a label set expired, a failed scrape's staleness markers):
   * their native histograms' last values are looked up step by step. Only native histograms
   * read it; absent: none.
   */
  readonly stale?: readonly string[];
}

export const NONE: Special = { restarts: new Map(), drops: [] };

/**
 * PromQL: the increase of counter `metric` over the `windowS` ending at `tS`, per series, summed
 * `by` the ten labels (`extra`: further `by` labels, e.g. ",le"); `of`: a float function of a
 * native histogram (histogram_count), sampled by a subquery at the step, since 2.42's
 * last_over_time ignores histogram samples.
 * - A replica's life (process run) inside the window: its last value in the window minus its
 *   last value before the window (or 0). A replica gone inside the window keeps its last sample;
 *   a missed scrape changes nothing. A restarted replica (`special.restarts`) has one such term
 *   per life, each over the time between its first scrapes: a restart counts even when the
 *   counters came back above their old values.
 * - A native histogram (`of`) of a replica that is neither special nor `special.stale`: every
 *   series there at the window's end is there at its start too unless it began inside it, so
 *   the change is two instant lookups (end − start, or end), not a subquery step by step over
 *   the window — the cost of a long window at fleet size (unevenIncrease leaves them out).
 * - `special.drops`: the sum of the increases between steps of `stepS`, each from the last
 *   value within BRIDGE_STEPS steps before, a value with none before or below it counting whole
 *   (a label set that expired and came back started from 0). Costs window/step evaluations per
 *   series of those replicas.
 */
export function windowIncrease(metric: string, matchers: readonly string[], windowS: number, stepS: number, tS: number, special: Special, extra = "", of?: (sel: string) => string): string {
  return increase(metric, matchers, windowS, stepS, tS, special, extra, of, true)!;
}

/** windowIncrease of a native histogram's float function `of` for the special and stale replicas only; null when there are none. */
export function unevenIncrease(metric: string, matchers: readonly string[], windowS: number, stepS: number, tS: number, special: Special, of: (sel: string) => string): string | null {
  return increase(metric, matchers, windowS, stepS, tS, special, "", of, false);
}

function increase(metric: string, matchers: readonly string[], windowS: number, stepS: number, tS: number, special: Special, extra: string, of: ((sel: string) => string) | undefined, plain: boolean): string | null {
  const ms = (x: number) => `${Math.max(1, Math.round(x))}ms`;
  const range = (m: string, rMs: number) => (of ? `${of(m)}[${ms(rMs)}:${stepS}s]` : `${m}[${ms(rMs)}]`);
  const at = (m: string) => (of ? of(m) : m);
  const offset = (oMs: number) => (oMs >= 1 ? ` offset ${ms(oMs)}` : "");
  const t = tS * 1000, from = t - windowS * 1000;
  /** The change over [lo, hi] of a life that began at `began` (-Infinity: before the range). */
  const change = (m: string, began: number, lo: number, hi: number) => {
    const last = `last_over_time(${range(m, hi - lo)}${offset(t - hi)})`;
    if (began >= from) return `(${last})`;
    const baseFrom = Math.max(began, from - GAP_S * 1000);
    return `(${last} - (last_over_time(${range(m, from - baseFrom)}${offset(t - from)}) or ${last} * 0))`;
  };
  const special_ = [...special.restarts.keys(), ...special.drops];
  const without = (xs: readonly string[]) => selector(metric, xs.length ? [...matchers, anyOf("instance", xs, "!~")] : matchers);
  const terms: string[] = [];
  const stale = of ? special.stale ?? [] : [];
  if (of) {
    const m = without([...special_, ...stale]);
    const start = of(`${m}${offset(t - from)}`);
    if (plain) terms.push(`(${of(m)} - (${start} or ${of(m)} * 0))`);
    if (stale.length > 0) terms.push(change(selector(metric, [...matchers, anyOf("instance", stale)]), -Infinity, from, t));
  } else {
    terms.push(change(without(special_), -Infinity, from, t));
  }
  for (const [instance, lives] of special.restarts) {
    const m = selector(metric, [...matchers, matcher("instance", instance)]);
    const starts = [-Infinity, ...lives];
    starts.forEach((began, k) => {
      const end = k + 1 < starts.length ? starts[k + 1]! - 1 : t;
      const lo = Math.max(began, from), hi = Math.min(end, t);
      // A label per life keeps the lives apart in the `or` below (sum by then adds them).
      if (hi > lo) terms.push(`label_replace(${change(m, began, lo, hi)}, "meshlat_life", "${k}", "", "")`);
    });
  }
  if (special.drops.length > 0) {
    const m = selector(metric, [...matchers, anyOf("instance", special.drops)]);
    const bridge = BRIDGE_STEPS * stepS * 1000;
    const prev = `last_over_time(${range(m, bridge)} offset ${stepS}s)`;
    terms.push(`sum_over_time(((((${at(m)} - ${prev}) >= 0)) or ${at(m)} + 0)[${Math.max(stepS, windowS - stepS)}s:${stepS}s])`);
  }
  return terms.length ? `sum by (${BY}${extra}) (${terms.join(" or ")})` : null;
}

/**
 * PromQL over the float request counter (cheap: raw samples): the replicas with a counter drop in
 * the window or just before it (label `meshlat_edge="drop"`), and those with a series missing at
 * the window's end or start that was there in the window or just before it (`"stale"`; see
 * Special.stale). One query for both.
 */
export function edgesQuery(matchers: readonly string[], windowS: number): string {
  const c = selector("meshlat_requests_total", matchers);
  const drops = `count by (instance) (resets(${c}[${windowS + GAP_S}s]) > 0)`;
  const stale = `count by (instance) ((last_over_time(${c}[${windowS}s]) unless ${c}) or (last_over_time(${c}[${GAP_S}s] offset ${windowS}s) unless ${c} offset ${windowS}s))`;
  const tag = (q: string, v: string) => `label_replace(${q}, "meshlat_edge", "${v}", "", "")`;
  return `${tag(drops, "drop")} or ${tag(stale, "stale")}`;
}

/** PromQL: every replica's start time, scraped over the window and the GAP_S before it (a range vector). */
export function startTimesQuery(windowS: number): string {
  return `${START_TIME}[${windowS + GAP_S}s]`;
}

/**
 * From every replica's start-time samples (startTimesQuery): the lives of the replicas that
 * restarted (see Special), and when the oldest scrape within the window was (Unix ms; with data
 * younger than the window, rates divide by the time since then, as the local store does).
 */
export function lives(samples: readonly { metric: Record<string, string>; values: [number, string][] }[], fromMs: number): { restarts: Map<string, number[]>; firstScrapeMs: number } {
  const restarts = new Map<string, number[]>();
  let first = Infinity;
  for (const s of samples) {
    const instance = s.metric.instance ?? "";
    const later: number[] = [];
    s.values.forEach(([ts, v], i) => {
      first = Math.min(first, ts * 1000);
      if (i > 0 && v !== s.values[i - 1]![1]) later.push(ts * 1000);
    });
    if (later.length > 0) restarts.set(instance, later);
  }
  return { restarts, firstScrapeMs: first === Infinity ? fromMs : Math.max(first, fromMs) };
}
