// `npm run bench`: the benchmark suite. Builds what it measures (bench/build.mjs), runs every
// subject, writes bench/results/latest.json (+ latest.txt), prints a table with PASS/FAIL per
// target and the comparison with bench/baseline.json.
//   --check            exit 1 when the guard finds a regression (see bench/lib/guard.ts)
//   --quick            deterministic counts only (no timings, no aggregator): seconds, for npm test
//   --update-baseline  write this (full) run as bench/baseline.json
//   --update-counts    with --quick: write this run's deterministic metrics (counts, sizes) into
//                      bench/baseline.json, keeping its timed ratios (measured on a quiet machine)
//   --update-only <prefix>  write this (full) run's metrics whose id starts with <prefix> into
//                      bench/baseline.json (repeatable), replacing the baseline's metrics under
//                      that prefix and keeping every other: one owner refreshes only its keys
//   --only <subject>   filter | flush | wire | histograms | aggregator (repeatable)
import { spawnSync, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { check } from "./lib/guard.ts";
import type { CheckResult } from "./lib/guard.ts";
import { formatLegend, formatTable } from "./lib/report.ts";
import { partialRuns, resultsMarkdown, spliceResults } from "./lib/summary.ts";
import type { Results, SubjectResult } from "./lib/results.ts";
import { runFilter } from "./filter.ts";
import { runFlush } from "./flush.ts";
import { runWireModel } from "./wire.ts";
import { runAggregator } from "./aggregator.ts";
import { runHistograms } from "./histograms.ts";

export const BASELINE = "bench/baseline.json";
export const LATEST = "bench/results/latest.json";
export const SECTION = "README.md"; // its Performance section holds the results table

export interface RunOptions { quick: boolean; only: string[]; log: (s: string) => void }

const SUBJECTS: { name: string; quick: boolean; run: (o: { quick: boolean }) => Promise<SubjectResult> | SubjectResult }[] = [
  { name: "filter", quick: true, run: runFilter },
  { name: "flush", quick: true, run: runFlush },
  { name: "wire", quick: true, run: () => runWireModel() },
  { name: "histograms", quick: true, run: runHistograms },
  { name: "aggregator", quick: false, run: runAggregator },
];

/** Compiles the fixtures and probe builds; `filter: false` leaves filter/build/meshlat.wasm alone (npm test builds it first). */
export function buildModules(opts: { filter: boolean } = { filter: true }): void {
  const b = spawnSync(process.execPath, ["bench/build.mjs", ...(opts.filter ? [] : ["--no-filter"])], { stdio: "inherit" });
  if (b.status !== 0) throw new Error("bench: building the benchmark modules failed");
}

export async function runAll(o: RunOptions): Promise<Results> {
  const t0 = Date.now();
  const res: Results = {
    version: 1,
    run: {
      startedAt: new Date().toISOString(), durationS: 0, mode: o.quick ? "quick" : "full",
      node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "", loadavg1m: loadavg()[0],
      gitCommit: gitCommit(),
    },
    metrics: {},
    details: {},
  };
  for (const s of SUBJECTS) {
    if (o.quick && !s.quick) continue;
    if (o.only.length && !o.only.includes(s.name)) continue;
    const ts = Date.now();
    try {
      const r = await s.run({ quick: o.quick });
      Object.assign(res.metrics, r.metrics);
      res.details[s.name] = r.details;
      o.log(`bench: ${s.name} done in ${((Date.now() - ts) / 1000).toFixed(1)} s`);
    } catch (e) {
      // One broken subject must not hide the others' numbers; --check fails on its missing metrics.
      res.details[s.name] = { error: String((e as Error)?.stack ?? e) };
      o.log(`bench: ${s.name} FAILED: ${(e as Error)?.message ?? e}`);
    }
  }
  res.run.durationS = (Date.now() - t0) / 1000;
  return res;
}

function gitCommit(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}

/** Host calls by function and where a typical request's time goes, from the filter's details. */
function diagnostics(res: Results): string {
  const out: string[] = [];
  const f = res.details.filter as Record<string, { hostCalls?: { meshlat?: { byFunction: Record<string, number> } }; hostTimeSplit?: { requestNs: number; hostNs: number; hostShare: number; byImportNs: Record<string, number> } }> | undefined;
  for (const mix of ["typical", "inbound"]) {
    const by = f?.[mix]?.hostCalls?.meshlat?.byFunction;
    if (by) out.push(`host calls per ${mix} request: ${Object.entries(by).map(([k, v]) => `${k.replace(/^env\.|^wasi_snapshot_preview1\./, "")} ${v}`).join(", ")}`);
  }
  for (const mix of ["typical", "inbound"]) {
    const t = f?.[mix]?.hostTimeSplit;
    if (!t) continue;
    out.push(`time split of a ${mix} request (timed imports, inflated by the timers): ${t.requestNs} ns, of which host functions ${t.hostNs} ns (${Math.round(t.hostShare * 100)}%): ` +
      Object.entries(t.byImportNs).map(([k, v]) => `${k.replace(/^env\.|^wasi_snapshot_preview1\./, "")} ${v}`).join(", "));
  }
  const pipe = (res.details.aggregator as { pipeline?: { perBatchUs: Record<string, number> } } | undefined)?.pipeline;
  if (pipe) out.push(`aggregator CPU per 100-series batch without HTTP: ${Object.entries(pipe.perBatchUs).map(([k, v]) => `${k} ${v} µs`).join(", ")}`);
  return out.join("\n");
}

export function loadBaseline(): Results | undefined {
  return existsSync(BASELINE) ? (JSON.parse(readFileSync(BASELINE, "utf8")) as Results) : undefined;
}

async function main(argv: string[]): Promise<number> {
  const only: string[] = [];
  const prefixes: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--only") only.push(argv[++i] ?? "");
    else if (argv[i] === "--update-only") prefixes.push(argv[++i] ?? "");
  }
  const unknown = only.filter((o) => !SUBJECTS.some((s) => s.name === o));
  if (unknown.length) {
    console.error(`bench: unknown subject(s) ${unknown.join(", ")}; subjects: ${SUBJECTS.map((s) => s.name).join(", ")}`);
    return 2;
  }
  const quick = argv.includes("--quick");
  const wantCheck = argv.includes("--check");
  const update = argv.includes("--update-baseline");
  const updateCounts = argv.includes("--update-counts");
  if (update && (quick || only.length)) {
    console.error("bench: --update-baseline needs a full run (no --quick, no --only)");
    return 2;
  }
  if (prefixes.length && (quick || update || updateCounts || prefixes.some((p) => p.length < 3))) {
    console.error("bench: --update-only <prefix> needs a full run (no --quick, --update-baseline or --update-counts) and a prefix of at least 3 characters");
    return 2;
  }
  if (updateCounts && (!quick || only.length || update)) {
    console.error("bench: --update-counts needs --quick (all subjects, no --update-baseline)");
    return 2;
  }
  buildModules();
  const res = await runAll({ quick, only, log: (s) => console.log(s) });
  const baseline = loadBaseline();
  const verdict: CheckResult | undefined = baseline ? check(baseline, res) : undefined;
  const table = formatTable(res, verdict?.findings);
  mkdirSync("bench/results", { recursive: true });
  writeFileSync(LATEST, JSON.stringify(res, null, 2) + "\n");
  writeFileSync(LATEST.replace(/\.json$/, ".txt"), table + "\n");
  console.log(`\nmeshlat benchmarks (${res.run.mode}, ${res.run.durationS.toFixed(0)} s, node ${res.run.node}, ${res.run.cpus} CPUs, load ${res.run.loadavg1m.toFixed(2)}, commit ${res.run.gitCommit})\n`);
  console.log(table);
  console.log(`\n${formatLegend(res)}\n`);
  const diag = diagnostics(res);
  if (diag) console.log(diag + "\n");
  const errors = Object.entries(res.details).filter(([, d]) => (d as { error?: string })?.error);
  for (const [name, d] of errors) console.log(`subject ${name} failed:\n${(d as { error: string }).error}\n`);
  if (verdict) {
    const bad = verdict.findings.filter((f) => f.status === "regressed" || f.status === "missing");
    const missed = verdict.findings.filter((f) => f.status === "target-missed");
    const fresh = verdict.findings.filter((f) => f.status === "new");
    for (const f of missed) console.log(`TARGET MISSED${res.metrics[f.id]?.kind === "info" ? " (info, unguarded)" : ""}: ${f.message}`);
    for (const f of bad) console.log(`GUARD ${f.status.toUpperCase()}: ${f.message}`);
    if (fresh.length) console.log(`${fresh.length} metric(s) not in the baseline: ${fresh.map((f) => f.id).join(", ")}`);
    console.log(verdict.ok ? `guard: OK against ${BASELINE}` : `guard: FAILED against ${BASELINE}`);
  } else {
    console.log(`guard: no ${BASELINE} yet (create it with --update-baseline)`);
  }
  console.log(`results: ${LATEST}`);
  if (update) {
    if (errors.length) {
      console.error("bench: not updating the baseline from a run with failed subjects");
      return 1;
    }
    writeFileSync(BASELINE, JSON.stringify(res, null, 2) + "\n");
    writeFileSync(SECTION, spliceResults(readFileSync(SECTION, "utf8"), resultsMarkdown(res)));
    console.log(`baseline written: ${BASELINE}; results table updated in ${SECTION}`);
  }
  if (updateCounts) {
    if (errors.length || !baseline) {
      console.error(`bench: not updating counts from a run with failed subjects or without ${BASELINE}`);
      return 1;
    }
    // Counts and sizes do not depend on the machine's load: take this run's where it measured
    // the same thing as the baseline (a quick run's memory-growth runs are shorter: kept; a
    // metric the baseline lacks waits for --update-baseline).
    const merged: Results = { ...baseline, metrics: { ...baseline.metrics } };
    for (const [id, m] of Object.entries(res.metrics)) {
      const base = baseline.metrics[id];
      if ((m.kind === "count" || m.kind === "size") && base && base.label === m.label) merged.metrics[id] = m;
    }
    writeFileSync(BASELINE, JSON.stringify(merged, null, 2) + "\n");
    writeFileSync(SECTION, spliceResults(readFileSync(SECTION, "utf8"), resultsMarkdown(merged)));
    console.log(`counts and sizes written into ${BASELINE} (commit ${res.run.gitCommit}); results table updated in ${SECTION}`);
  }
  if (prefixes.length) {
    if (errors.length || !baseline) {
      console.error(`bench: not updating from a run with failed subjects or without ${BASELINE}`);
      return 1;
    }
    const mine = (id: string) => prefixes.some((p) => id.startsWith(p));
    const merged: Results = { ...baseline, metrics: Object.fromEntries(Object.entries(baseline.metrics).filter(([id]) => !mine(id))) };
    const taken = Object.entries(res.metrics).filter(([id]) => mine(id));
    for (const [id, m] of taken) merged.metrics[id] = m;
    // The README table says when and at what load these rows were measured, apart from the rest.
    merged.details = { ...baseline.details, partialRuns: { ...partialRuns(baseline), ...Object.fromEntries(prefixes.map((p) => [p, res.run])) } };
    writeFileSync(BASELINE, JSON.stringify(merged, null, 2) + "\n");
    writeFileSync(SECTION, spliceResults(readFileSync(SECTION, "utf8"), resultsMarkdown(merged)));
    console.log(`${taken.length} metric(s) under ${prefixes.join(", ")} written into ${BASELINE} (commit ${res.run.gitCommit}); results table updated in ${SECTION}`);
  }
  if (wantCheck) {
    if (!verdict) {
      console.error(`bench: --check needs ${BASELINE}`);
      return 1;
    }
    if (errors.length || !verdict.ok) return 1;
  }
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    console.error(e);
    process.exit(1);
  });
}
