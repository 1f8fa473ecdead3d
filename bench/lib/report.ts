// Human-readable table of a run: one line per metric with its spread, target verdict and, when
// a baseline is given, the guard's finding. Plain text so it reads the same in a terminal and CI.
import { fmt } from "./guard.ts";
import type { Finding } from "./guard.ts";
import { meetsTarget } from "./results.ts";
import type { Metric, Results } from "./results.ts";

/**
 * The verdict printed beside a target: PASS or FAIL for counts, sizes and guarded ratios; an
 * info measure (unguarded: too noisy, or machine-dependent) that misses its target reads
 * "info: above 1.3", as FAIL would suggest a check that failed where none runs. --check's
 * findings are unchanged: every miss is still listed as TARGET MISSED, and none fails the check.
 */
export function targetVerdict(m: Metric): "" | "PASS" | "FAIL" | `info: ${string}` {
  const pass = meetsTarget(m);
  if (pass === undefined) return "";
  if (pass) return "PASS";
  return m.kind === "info" ? `info: ${m.target!.op === "<=" ? "above" : "below"} ${fmt(m.target!.value)}` : "FAIL";
}

export function formatTable(res: Results, findings: Finding[] = []): string {
  const byId = new Map<string, Finding>();
  for (const f of findings) if (f.status !== "target-missed" && f.status !== "new") byId.set(f.id, f);
  const rows: string[][] = [["metric", "value", "spread (q1..q3)", "unit", "target", "", "baseline", "guard"]];
  for (const [id, m] of Object.entries(res.metrics)) {
    const f = byId.get(id);
    rows.push([
      id,
      fmt(m.value),
      m.spread ? `${fmt(m.spread.q1)}..${fmt(m.spread.q3)}` : "",
      m.unit,
      m.target ? `${m.target.op} ${fmt(m.target.value)}` : "",
      targetVerdict(m),
      f?.baseline !== undefined ? fmt(f.baseline) : "",
      f ? (f.status === "ok" || f.status === "unguarded" ? "" : f.status.toUpperCase()) : "",
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) => r.map((cell, c) => (c === 1 || c === 6 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join("  ").trimEnd());
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  return lines.join("\n");
}

/** The labels, once, below the table: what each metric id means. */
export function formatLegend(res: Results): string {
  return Object.entries(res.metrics).map(([id, m]) => `  ${id}: ${m.label}`).join("\n");
}
