// Test harness for a real Prometheus server (Debian's /usr/bin/prometheus; .ci/run installs
// it): a temp dir for config and TSDB, loopback on a free port, a generated config that
// scrapes the given targets every second, and a small client for the HTTP query API.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { killOnExit } from "../support/child-process.ts";
import { freePort } from "../support/net.ts";
import { poll } from "../support/poll.ts";

export interface ScrapeJob {
  job: string;
  /** host:port targets. */
  targets: string[];
  labels?: Record<string, string>;
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

/** One series' exemplars as GET /api/v1/query_exemplars returns them (value and timestamp as Prometheus writes them). */
export interface ExemplarSeries { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string; timestamp: number }[] }

export class PrometheusNotFoundError extends Error {
  readonly code = "E2E_ERR_NO_PROMETHEUS";
}

/** Path of the prometheus binary, or a clear error: CI installs it through .ci/run. */
export function findPrometheus(): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const p = join(dir, "prometheus");
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  throw new PrometheusNotFoundError(
    "prometheus is not on PATH: the end-to-end tests need a real Prometheus " +
      "(Debian: apt-get install prometheus; .ci/run installs it on CI)",
  );
}

export function renderConfig(jobs: ScrapeJob[], intervalS = 1, ruleFiles: string[] = []): string {
  // YAML is a superset of JSON: a generated JSON config needs no YAML writer.
  return JSON.stringify({
    rule_files: ruleFiles,
    global: { scrape_interval: `${intervalS}s`, scrape_timeout: `${Math.max(Math.round(intervalS * 800), 500)}ms`, evaluation_interval: `${intervalS}s` },
    scrape_configs: jobs.map((j) => ({
      job_name: j.job,
      static_configs: [{ targets: j.targets, labels: j.labels ?? {} }],
    })),
  }, null, 2);
}

export class Prometheus {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {}

  /**
   * `ruleFiles`: absolute paths of rule files to load (evaluated every interval); `features`:
   * `--enable-feature` values (e.g. native-histograms, which also makes the scrape ask for protobuf).
   */
  static async start(jobs: ScrapeJob[], opts: { intervalS?: number; readyTimeoutMs?: number; ruleFiles?: string[]; features?: string[] } = {}): Promise<Prometheus> {
    const bin = findPrometheus();
    const dir = mkdtempSync(join(tmpdir(), "meshlat-prom-"));
    writeFileSync(join(dir, "prometheus.yml"), renderConfig(jobs, opts.intervalS ?? 1, opts.ruleFiles));
    const port = await freePort();
    const child = spawn(bin, [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h",
      "--log.level=warn",
      ...(opts.features ?? []).map((f) => `--enable-feature=${f}`),
    ], { stdio: ["ignore", "pipe", "pipe"] });
    const output: string[] = [];
    child.stdout!.on("data", (d) => output.push(String(d)));
    child.stderr!.on("data", (d) => output.push(String(d)));
    killOnExit(child);
    const prom = new Prometheus(`http://127.0.0.1:${port}`, child, dir);
    const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
    const ready = await poll(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${output.join("")}`);
        return fetch(`${prom.url}/-/ready`).then((r) => r.ok, () => false);
      },
      (ok) => ok,
      { timeoutMs: readyTimeoutMs, intervalMs: 100, lastOnTimeout: true },
    );
    if (!ready) {
      await prom.stop();
      throw new Error(`prometheus not ready after ${readyTimeoutMs} ms: ${output.join("")}`);
    }
    return prom;
  }

  /** Instant query; `time` in Unix seconds (default: now). */
  async query(expr: string, time?: number): Promise<PromSample[]> {
    const u = new URL("/api/v1/query", this.url);
    u.searchParams.set("query", expr);
    if (time !== undefined) u.searchParams.set("time", String(time));
    const res = await fetch(u);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== "success") throw new Error(`query failed: ${expr}: ${body.error}`);
    if (body.data!.resultType !== "vector") throw new Error(`expected a vector for ${expr}, got ${body.data!.resultType}`);
    return body.data!.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** The single value of a query that must return at most one sample (NaN when empty). */
  async scalar(expr: string, time?: number): Promise<number> {
    const r = await this.query(expr, time);
    if (r.length > 1) throw new Error(`expected one sample for ${expr}, got ${r.length}`);
    return r.length === 0 ? NaN : r[0].value;
  }

  /** Polls `expr` until `accept(value)` holds; returns the last value, or throws at the deadline. */
  async waitFor(expr: string, accept: (v: number) => boolean, timeoutMs = 15_000): Promise<number> {
    return poll(() => this.scalar(expr), accept, { timeoutMs, intervalMs: 250, what: expr });
  }

  /** Exemplars of the series `selector` selects, from 120 s before `sinceMs` (Unix ms) to a minute ahead of now. */
  async exemplars(selector: string, sinceMs: number): Promise<ExemplarSeries[]> {
    const u = new URL("/api/v1/query_exemplars", this.url);
    u.searchParams.set("query", selector);
    u.searchParams.set("start", String(Math.floor(sinceMs / 1000) - 120));
    u.searchParams.set("end", String(Math.ceil(Date.now() / 1000) + 60));
    const body = (await (await fetch(u)).json()) as { status: string; error?: string; data: ExemplarSeries[] };
    if (body.status !== "success") throw new Error(`exemplar query failed: ${selector}: ${body.error}`);
    return body.data;
  }

  /** Every loaded rule with its health and state (GET /api/v1/rules). */
  async rules(): Promise<{ name: string; type: string; health: string; lastError?: string; state?: string; lastEvaluation: string }[]> {
    const res = (await (await fetch(`${this.url}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; type: string; health: string; lastError?: string; state?: string; lastEvaluation: string }[] }[] } };
    return res.data.groups.flatMap((g) => g.rules);
  }

  async targetsUp(): Promise<Record<string, string>> {
    const res = (await (await fetch(`${this.url}/api/v1/targets`)).json()) as { data: { activeTargets: { scrapeUrl: string; health: string }[] } };
    return Object.fromEntries(res.data.activeTargets.map((t) => [t.scrapeUrl, t.health]));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once("exit", r));
      this.child.kill("SIGTERM");
      const t = setTimeout(() => this.child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
