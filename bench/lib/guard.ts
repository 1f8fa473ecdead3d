// `npm run bench -- --check`: compares a run with the committed baseline (bench/baseline.json).
// Pure: results in, findings out; run.ts turns a failed check into exit code 1.
import { meetsTarget } from "./results.ts";
import type { Metric, Results } from "./results.ts";

/** Artifact sizes may grow by 2% (a small feature) before the guard objects. */
export const SIZE_TOLERANCE = 0.02;
/**
 * CPU-timed, paired, interleaved ratios move by up to ~10% between runs on the 2-core machine
 * (measured: typical mix 1.01–1.11 over six runs of the same code; README.md "Performance");
 * 15% sits outside that noise and inside a real regression of the hot path.
 */
export const RATIO_TOLERANCE = 0.15;

export type FindingStatus = "ok" | "improved" | "regressed" | "missing" | "new" | "target-missed" | "unguarded";

export interface Finding {
  id: string;
  status: FindingStatus;
  value?: number;
  baseline?: number;
  /** The worst value the guard accepts for this metric. */
  limit?: number;
  message: string;
}

export interface CheckResult {
  ok: boolean;
  findings: Finding[];
}

/** The worst acceptable value for `current`'s metric given its baseline. */
export function limitFor(base: Metric): number | undefined {
  const lower = base.better === "lower";
  switch (base.kind) {
    case "count":
      return base.value;
    case "size":
      return lower ? base.value * (1 + SIZE_TOLERANCE) : base.value * (1 - SIZE_TOLERANCE);
    case "ratio":
      return lower ? base.value * (1 + RATIO_TOLERANCE) : base.value / (1 + RATIO_TOLERANCE);
    case "info":
      return undefined;
  }
}

// Floating-point slack for derived counts such as 70000 calls / 10000 requests.
const EPS = 1e-9;

export function check(baseline: Results, current: Results): CheckResult {
  const findings: Finding[] = [];
  // A quick run measures only the deterministic counts; missing timings are expected there.
  const quick = current.run.mode === "quick";
  for (const [id, base] of Object.entries(baseline.metrics)) {
    const cur = current.metrics[id];
    if (!cur) {
      if (!quick) findings.push({ id, status: "missing", baseline: base.value, message: `${id}: measured in the baseline, missing from this run` });
      continue;
    }
    const limit = limitFor(base);
    if (limit === undefined) {
      findings.push({ id, status: "unguarded", value: cur.value, baseline: base.value, message: `${id}: informational` });
      continue;
    }
    const worse = base.better === "lower" ? cur.value > limit + EPS : cur.value < limit - EPS;
    // "improved" only beyond the same tolerance, so that noise is not reported as progress.
    const tol = base.kind === "size" ? SIZE_TOLERANCE : base.kind === "ratio" ? RATIO_TOLERANCE : 0;
    const better = base.better === "lower" ? cur.value < base.value / (1 + tol) - EPS : cur.value > base.value * (1 + tol) + EPS;
    findings.push({
      id, value: cur.value, baseline: base.value, limit,
      status: worse ? "regressed" : better ? "improved" : "ok",
      message: worse
        ? `${id}: ${fmt(cur.value)} ${cur.unit} is worse than the baseline ${fmt(base.value)} beyond the limit ${fmt(limit)} (${base.kind})`
        : `${id}: ${fmt(cur.value)} ${cur.unit} (baseline ${fmt(base.value)}, limit ${fmt(limit)})`,
    });
  }
  for (const [id, cur] of Object.entries(current.metrics)) {
    if (!baseline.metrics[id]) findings.push({ id, status: "new", value: cur.value, message: `${id}: not in the baseline (refresh it with --update-baseline)` });
    // Targets are the product's budgets: a miss is listed (and shown FAIL in the table) but only
    // a regression against the baseline fails the check, so a known miss recorded in the
    // baseline does not block every release while it is being worked on.
    if (meetsTarget(cur) === false) {
      findings.push({ id, status: "target-missed", value: cur.value, limit: cur.target!.value, message: `${id}: ${fmt(cur.value)} ${cur.unit} misses the target ${cur.target!.op} ${fmt(cur.target!.value)}` });
    }
  }
  const ok = !findings.some((f) => f.status === "regressed" || f.status === "missing");
  return { ok, findings };
}

export function fmt(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toString();
  if (a >= 1) return v.toFixed(2).replace(/\.?0+$/, "");
  return v.toPrecision(3);
}
