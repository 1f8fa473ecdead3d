// The PromQL Kiali runs for a custom dashboard's charts, built as Kiali builds it
// (kiali/kiali prometheus/metrics.go: fetchRateRange and buildHistogramQueries; Kiali also wraps
// each in roundSignificant, which changes no series), for one app's label filter.
export interface KialiChart { name: string; dataType: "raw" | "rate" | "histogram"; metrics: { metricName: string; displayName: string }[] }
export interface KialiQuery { chart: string; metric: string; stat: string; expr: string }

/** `labels` as Kiali passes them, e.g. `{namespace="shop",app="payment"}`; `grouping` a label list or "". */
export function kialiQueries(charts: KialiChart[], labels: string, grouping = "", rateInterval = "1m", quantiles = ["0.5", "0.99"]): KialiQuery[] {
  const by = grouping ? ` by (${grouping})` : "";
  return charts.flatMap((c) => c.metrics.flatMap((m): KialiQuery[] => {
    const M = m.metricName;
    if (c.dataType === "rate") return [{ chart: c.name, metric: M, stat: "rate", expr: `sum(rate(${M}${labels}[${rateInterval}]))${by}` }];
    if (c.dataType === "raw") return [{ chart: c.name, metric: M, stat: "raw", expr: `sum(${M}${labels})${by}` }];
    return [
      { chart: c.name, metric: M, stat: "avg", expr: `sum(rate(${M}_sum${labels}[${rateInterval}]))${by} / sum(rate(${M}_count${labels}[${rateInterval}]))${by}` },
      ...quantiles.map((q) => ({ chart: c.name, metric: M, stat: q, expr: `histogram_quantile(${q}, sum(rate(${M}_bucket${labels}[${rateInterval}])) by (le${grouping ? `,${grouping}` : ""}))` })),
    ];
  }));
}
