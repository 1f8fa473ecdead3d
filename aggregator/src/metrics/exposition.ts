// Pure text exposition helpers: Prometheus text format 0.0.4 and OpenMetrics 1.0.0.
// (prom-client's own Registry#metrics() renames counters in place when asked for OpenMetrics,
// which would corrupt a later text scrape, so families are rendered here from its JSON.)
import type { MetricObjectWithValues, MetricValue } from "prom-client";

export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : v;
}

export function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function formatValue(v: number): string {
  if (Number.isFinite(v)) return String(v);
  if (Number.isNaN(v)) return "NaN";
  return v > 0 ? "+Inf" : "-Inf";
}

/**
 * OpenMetrics "Canonical Numbers", which `le` values MUST follow (OpenMetrics 1.0, Histogram):
 * Go's shortest %g (exponent form below 1e-4 and from 1e+06, exponent of at least two digits)
 * with ".0" appended when there is neither a point nor an exponent: 1.0, 0.025, 100000.0, 1e+06.
 */
export function canonicalFloat(v: number): string {
  if (!Number.isFinite(v)) return formatValue(v);
  if (v === 0) return "0.0";
  const [mant, e] = v.toExponential().split("e") as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  const s = String(v);
  return s.includes(".") ? s : s + ".0";
}

export function labelText(names: readonly string[], values: readonly string[]): string {
  let s = "";
  for (let i = 0; i < names.length; i++) s += (i ? "," : "") + names[i] + '="' + escapeLabelValue(values[i]!) + '"';
  return s;
}

/** HELP and TYPE lines; OpenMetrics names a counter family without its `_total` suffix. */
export function familyHeader(name: string, type: "counter" | "gauge" | "histogram", help: string, om: boolean): string {
  const fam = om && type === "counter" ? name.replace(/_total$/, "") : name;
  return `# HELP ${fam} ${escapeHelp(help)}\n# TYPE ${fam} ${type}\n`;
}

/** Renders prom-client's getMetricsAsJSON() output. */
export function renderPromClient(metrics: readonly MetricObjectWithValues<MetricValue<string>>[], om: boolean): string {
  let out = "";
  for (const m of metrics) {
    const type = m.type as unknown as string;
    if (type !== "counter" && type !== "gauge" && type !== "histogram") continue;
    out += familyHeader(m.name, type, m.help, om);
    for (const v of m.values) {
      const sample = (v as { metricName?: string }).metricName ?? m.name;
      const labels = Object.entries(v.labels ?? {});
      const num = (k: string, x: number) => (om && k === "le" ? canonicalFloat(x) : formatValue(x));
      const lt = labels.length ? "{" + labels.map(([k, x]) => `${k}="${escapeLabelValue(typeof x === "number" ? num(k, x) : String(x))}"`).join(",") + "}" : "";
      out += `${sample}${lt} ${formatValue(v.value)}\n`;
    }
  }
  return out;
}
