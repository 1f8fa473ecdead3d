// PromQL over the timing histograms that answers on classic and native data alike: a Prometheus
// that scrapes text (or OpenMetrics) has the classic _bucket/_sum/_count series, one that scrapes
// protobuf with native histograms has one native series per label set. Each expression asks for
// the classic form first and falls back (`or`) to the native one, using only functions
// Prometheus 2.40+ has (histogram_quantile, histogram_sum, histogram_count on native histograms).

/** `by (a, b)` with `extra` labels prepended, or "" for none. */
function by(labels: readonly string[], extra: readonly string[] = []): string {
  const all = [...extra, ...labels];
  return all.length ? ` by (${all.join(", ")}) ` : " ";
}

/** Per-second rate of the histogram's sum (ms per second), summed by `labels`. */
export function rateSum(metric: string, sel: string, range: string, labels: readonly string[] = []): string {
  return `(sum${by(labels)}(rate(${metric}_sum{${sel}}[${range}])) or sum${by(labels)}(histogram_sum(rate(${metric}{${sel}}[${range}]))))`;
}

/** Per-second rate of observations, summed by `labels`. */
export function rateCount(metric: string, sel: string, range: string, labels: readonly string[] = []): string {
  return `(sum${by(labels)}(rate(${metric}_count{${sel}}[${range}])) or sum${by(labels)}(histogram_count(rate(${metric}{${sel}}[${range}]))))`;
}

/** Mean observation (ms) over `range`, by `labels`. */
export function meanOf(metric: string, sel: string, range: string, labels: readonly string[] = []): string {
  return `${rateSum(metric, sel, range, labels)} / ${rateCount(metric, sel, range, labels)}`;
}

/** The q-quantile (ms) over `range`, by `labels`. */
export function quantileOf(q: number, metric: string, sel: string, range: string, labels: readonly string[] = []): string {
  return `(histogram_quantile(${q}, sum${by(labels, ["le"])}(rate(${metric}_bucket{${sel}}[${range}]))) or histogram_quantile(${q}, sum${by(labels)}(rate(${metric}{${sel}}[${range}]))))`;
}
