// The demo's live table: per service and user tier, p99 of the total and of proxy / network /
// app, and the verdict, all from the aggregator's latency API (GET /api/v1/latency).
export interface LatencyGroupView {
  user_tier?: string;
  reporter: string;
  requests: number;
  timings: Record<string, { p99_ms: number | null } | null>;
  /** Shares of the mean total (what the verdict is decided on). */
  split?: { proxy: { share: number }; network: { share: number } | null; app: { share: number } | null };
  verdict: string;
}

export interface ServiceLatency {
  service: string; // short name
  groups: LatencyGroupView[];
}

export async function fetchLatency(aggregatorUrl: string, fqdn: string, window = "1m"): Promise<LatencyGroupView[]> {
  const u = new URL("/api/v1/latency", aggregatorUrl);
  u.searchParams.set("destination_service", fqdn);
  u.searchParams.set("window", window);
  u.searchParams.set("by", "user_tier");
  const res = await fetch(u, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`latency API ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { groups: LatencyGroupView[] }).groups;
}

const COLS = ["service", "tier", "reporter", "reqs", "p99 total", "proxy", "network", "app", "mean split p/n/a %", "verdict"];

function ms(v: number | null | undefined): string {
  return v === null || v === undefined ? "-" : v < 10 ? v.toFixed(2) : v.toFixed(1);
}

function shares(g: LatencyGroupView): string {
  const pct = (x: { share: number } | null | undefined) => (x ? String(Math.round(x.share * 100)) : "-");
  return g.split ? `${pct(g.split.proxy)}/${pct(g.split.network)}/${pct(g.split.app)}` : "-";
}

/** Renders rows as a fixed-width text table (p99 values in ms). */
export function renderTable(rows: ServiceLatency[]): string {
  const lines: string[][] = [COLS];
  for (const r of rows) {
    for (const g of r.groups) {
      const p = (t: string) => ms(g.timings[t]?.p99_ms);
      lines.push([r.service, g.user_tier ?? "*", g.reporter, String(g.requests), p("request"), p("proxy"), p("network"), p("app"), shares(g), g.verdict]);
    }
    if (r.groups.length === 0) lines.push([r.service, "-", "-", "0", "-", "-", "-", "-", "-", "(no data yet)"]);
  }
  const widths = COLS.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((c, i) => (i >= 3 && i <= 8 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd()).join("\n");
}
