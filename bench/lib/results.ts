// The shape of a benchmark run as written to bench/results/latest.json and bench/baseline.json.
// Every number the suite reports is a Metric; how the guard treats it follows from its kind.

/**
 * count  deterministic (host calls, allocations, memory growth, wire bytes): any regression fails
 * size   artifact size in bytes: may grow by SIZE_TOLERANCE
 * ratio  timing relative to something measured in the same run: may regress by RATIO_TOLERANCE
 * info   absolute timings/throughputs: machine-dependent, reported and target-checked, not guarded
 */
export type MetricKind = "count" | "size" | "ratio" | "info";

export interface Target {
  op: "<=" | ">=";
  value: number;
}

export interface Metric {
  value: number;
  unit: string;
  kind: MetricKind;
  better: "lower" | "higher";
  /** Spread over the timed rounds (quartiles and extremes) for timings and ratios. */
  spread?: { q1: number; q3: number; min: number; max: number; n: number };
  target?: Target;
  /** One line saying what was measured, for the table and for whoever reads the JSON. */
  label: string;
}

export interface RunInfo {
  startedAt: string;
  durationS: number;
  mode: "full" | "quick";
  node: string;
  cpus: number;
  cpuModel: string;
  loadavg1m: number;
  gitCommit: string;
}

export interface Results {
  version: 1;
  run: RunInfo;
  metrics: Record<string, Metric>;
  /** Free-form detail (per-function host calls, wire samples) that is shown but never guarded. */
  details: Record<string, unknown>;
}

export function meetsTarget(m: Metric): boolean | undefined {
  if (!m.target) return undefined;
  return m.target.op === "<=" ? m.value <= m.target.value : m.value >= m.target.value;
}

export function metric(
  kind: MetricKind, value: number, unit: string, label: string,
  extra: { better?: "lower" | "higher"; target?: Target; spread?: Metric["spread"] } = {},
): Metric {
  if (!Number.isFinite(value)) throw new RangeError(`metric ${label}: non-finite value ${value}`);
  const m: Metric = { value, unit, kind, better: extra.better ?? "lower", label };
  if (extra.spread) m.spread = extra.spread;
  if (extra.target) m.target = extra.target;
  return m;
}

/** What one benchmark subject (bench/<subject>.ts) returns. */
export interface SubjectResult {
  metrics: Record<string, Metric>;
  details: Record<string, unknown>;
}
