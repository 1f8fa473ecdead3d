// The fleet simulator: P proxies × W worker VMs post 1 s delta batches (the sample mesh's label
// mix, spread over many namespaces; each window a VM reports one of 8 variants of its workload's
// batch: up to 26 of its label sets, with varying counts) to R aggregator replicas, scraped by a
// real Prometheus. 127.0.0.1 only, bounded by --seconds.
//
// Balancing is what each sidecar's Envoy does for proxy_http_call: a ring hash on the POST's
// :authority (test/sidecar/ring-hash.ts), which the filter prefixes with the proxy's workload
// (docs/scale.md). `--balance random` shows the alternative: spread batches, series multiply.
//
// Prometheus scrapes as the shipped ServiceMonitor makes it: protobuf with native histograms
// (2.42: --enable-feature=native-histograms), gzip.
//
// Per replica and in total: aggregator CPU per series-point (process CPU, scrapes included),
// p99 ingest latency, 429s, label sets, series as Prometheus stores them, scrape time and bytes,
// peak RSS, and whether Prometheus' sum(meshlat_requests_total) equals the requests sent. Then
// the views' cost at that size (bench/lib/view-cost.ts): a further aggregator process with
// `prometheus_url` answers /api/v1/latency, /graph and /overview from that Prometheus.
//
//   node --import tsx bench/fleet.ts --proxies 2000 --workers 2 --replicas 1,3 [--seconds 30]
//        [--balance ring|random] [--scrape-interval 15] [--readme]   (--readme: write the tables into README.md)
import http from "node:http";
import { loadavg } from "node:os";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { AggregatorProcess } from "../test/sidecar/aggregator-process.ts";
import { Prometheus } from "../test/e2e/prometheus.ts";
import { HashRing } from "../test/sidecar/ring-hash.ts";
import { batchValue, encodeBatch } from "../test/support/batch-builder.ts";
import type { Labels, SeriesInput } from "../test/support/batch-builder.ts";
import { poll, sleep } from "../test/support/poll.ts";
import { freePort } from "../test/support/net.ts";
import { prng } from "./lib/traffic.ts";
import { HISTOGRAM_FAMILIES } from "../aggregator/src/metrics/traffic.ts";
import { measureView } from "./lib/view-cost.ts";
import type { ViewCost } from "./lib/view-cost.ts";

const TIERS = ["free", "standard", "premium", "enterprise", "unknown"];
/** The sample mesh (test/sidecar/mesh.ts DEFAULT_SERVICES): frontend → checkout → payment. */
const CHAIN = [
  { name: "frontend", region: "us-east-1" },
  { name: "checkout", region: "us-east-1" },
  { name: "payment", region: "eu-west-1" },
];
const LABEL_SETS_PER_WINDOW = 26;
/** The five timing histograms of a label set: native when scraped as protobuf. */
const TRAFFIC_HISTOGRAMS = `(${HISTOGRAM_FAMILIES.join("|")})`;
/** What the filter sends since it keeps exponential histograms (docs/wire-format.md v2). */
const WIRE_VERSION = 2;
const AGG_FQDN = "meshlat-aggregator.istio-system.svc.cluster.local";
/** The ServiceMonitor's interval (wasmplugin/src/monitoring.ts). */
const SCRAPE_INTERVAL_S = 15;
/** Protobuf first, as a Prometheus with native histograms asks (the same Accept as bench/aggregator.ts). */
const PROTOBUF_ACCEPT = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

export interface FleetOptions {
  proxies: number; workers: number; replicas: number; seconds: number; balance: "ring" | "random";
  /** Prometheus' scrape interval (default 15 s, the ServiceMonitor's). */
  scrapeIntervalS?: number;
  /** Measure the views from Prometheus at the end (default true). */
  views?: boolean;
  log: (s: string) => void;
}

interface Workload { name: string; ns: string; region: string; pool: Partial<Labels>[] }

/**
 * Workloads of a fleet: namespaces each running the sample chain; every 10th service also runs
 * a second version (a second workload behind the same service, as rolling deployments do), whose
 * reporter=destination label sets equal the first version's.
 */
export function fleetWorkloads(proxies: number): Workload[] {
  const namespaces = Math.max(1, Math.round(proxies / 50));
  const out: Workload[] = [];
  for (let n = 0; n < namespaces; n++) {
    const ns = `team-${n}`;
    CHAIN.forEach((svc, i) => {
      const fqdn = (s: string) => `${s}.${ns}.svc.cluster.local`;
      const pool: Partial<Labels>[] = [];
      const codes = svc.name === "payment" ? ["200", "503"] : ["200", "404"];
      for (const tier of TIERS) {
        for (const code of codes) {
          const flags = code === "503" ? "UF" : "-";
          // Inbound (reporter=destination): from the previous service in the chain (or the ingress).
          pool.push({ reporter: "destination", source_workload: i === 0 ? "istio-ingressgateway" : CHAIN[i - 1]!.name, source_namespace: i === 0 ? "istio-system" : ns,
            destination_service: fqdn(svc.name), response_code: code, response_flags: flags, connection_security_policy: "mutual_tls", user_tier: tier, region: svc.region, peer_region: i === 0 ? svc.region : CHAIN[i - 1]!.region });
          // Outbound (reporter=source): to the next service.
          const next = CHAIN[i + 1];
          if (next) pool.push({ reporter: "source", source_workload: svc.name, source_namespace: ns, destination_service: fqdn(next.name), response_code: code,
            response_flags: flags, connection_security_policy: "unknown", user_tier: tier, region: svc.region, peer_region: next.region });
        }
      }
      out.push({ name: svc.name, ns, region: svc.region, pool });
      if ((n * CHAIN.length + i) % 10 === 9) out.push({ name: `${svc.name}-v2`, ns, region: svc.region, pool: pool.map((l) => l.reporter === "source" ? { ...l, source_workload: `${svc.name}-v2` } : l) });
    });
  }
  return out;
}

const MAX_COUNT = 8;
/** Timings (ms) of a series point of `c` requests (each timing observes every request once). */
const TIMINGS_BY_COUNT: Record<string, number[]>[] = Array.from({ length: MAX_COUNT + 1 }, (_, c) => {
  const pick = (v: number[]) => Array.from({ length: c }, (_, k) => v[k % v.length]!);
  return { request: pick([3.1, 7.4, 12.8, 31]), upstream: pick([2.5, 6.9, 12.1, 30]), proxy: pick([0.6, 0.5, 0.7, 1]),
    app: pick([2, 5, 10, 25]), network: pick([0.5, 1.9, 2.1, 5]) };
});

const VARIANTS = 8;
const VM_AT = "ffffffffffffffff";
const SEQ_AT = [0xce, 0xff, 0xff, 0xff, 0xf0];
const W0 = 0x0123456789a0, W1 = 0x0123456789b0;
const u64 = (n: number) => [0xcf, ...Array.from({ length: 8 }, (_, i) => Number((BigInt(n) >> BigInt(8 * (7 - i))) & 0xffn))];

interface Template { bytes: Buffer; vmAt: number; seqAt: number; w0At: number; w1At: number; requests: number; points: number }

/** A workload's batch, encoded once with placeholders that each post patches (the reference
 * encoder is too slow to run 4,000 times a second beside the aggregators it measures). */
function template(wl: Workload, rand: () => number): Template {
  const picks = new Set<number>();
  while (picks.size < Math.min(LABEL_SETS_PER_WINDOW, wl.pool.length)) picks.add(Math.floor(rand() * wl.pool.length));
  const series: SeriesInput[] = [];
  let requests = 0;
  for (const i of picks) {
    const count = 1 + Math.floor(rand() * MAX_COUNT);
    requests += count;
    series.push({ count, labels: wl.pool[i], timings: TIMINGS_BY_COUNT[count] });
  }
  const bytes = Buffer.from(encodeBatch(batchValue({ v: WIRE_VERSION, vm: VM_AT, seq: 0xfffffff0, window: [W0, W1], series,
    proxy: { id: `sidecar~10.0.0.1~${wl.name}-0.${wl.ns}~${wl.ns}.svc.cluster.local`, workload: wl.name, namespace: wl.ns, region: wl.region } })));
  const at = (needle: number[] | string) => {
    const i = bytes.indexOf(typeof needle === "string" ? Buffer.from(needle, "latin1") : Buffer.from(needle));
    if (i < 0) throw new Error(`fleet: placeholder ${String(needle)} not found in the encoded batch`);
    return i;
  };
  return { bytes, vmAt: at(VM_AT), seqAt: at(SEQ_AT) + 1, w0At: at(u64(W0)) + 1, w1At: at(u64(W1)) + 1, requests, points: series.length };
}

function instantiate(t: Template, vm: string, seq: number, now: number): Buffer {
  const b = Buffer.from(t.bytes);
  b.write(vm, t.vmAt, "latin1");
  b.writeUInt32BE(seq, t.seqAt);
  b.writeBigUInt64BE(BigInt(now - 1000), t.w0At);
  b.writeBigUInt64BE(BigInt(now), t.w1At);
  return b;
}

interface Replica { proc: AggregatorProcess; name: string; lat: number[]; points: number; rejected429: number; failed: number; cpu0: number }

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").slice(readFileSync(`/proc/${pid}/stat`, "utf8").lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15), clock ticks (USER_HZ 100)
}
function peakRssBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}
const TICKS_PER_S = 100;

export interface ReplicaRow {
  replica: string; points: number; cpuS: number; usPerPoint: number; p99Ms: number; r429: number; labelSets: number;
  /** Series of meshlat_* in Prometheus' head for this replica (its own metrics included). */
  series: number;
  /** Prometheus' longest scrape of the replica in the run, and its body as Prometheus read it (uncompressed). */
  scrapeS: number; scrapeBodyBytes: number;
  /** One scrape after the run with Prometheus' Accept and gzip: bytes on the wire. */
  scrapeGzipBytes: number;
  rssMiB: number;
}
export interface FleetResult {
  opts: Omit<FleetOptions, "log">; sent: number; sentRequests: number; promRequests: number; countsExact: boolean; rows: ReplicaRow[]; total: ReplicaRow;
  /** Series-points per second accepted (204), generated by the VMs' flushes, and what P × W VMs of 26 label sets would send. */
  achievedPointsPerS: number; offeredPointsPerS: number; nominalPointsPerS: number;
  /** The simulator's own CPU while sending, in cores (its client cost). */
  simulatorCores: number;
  /** Series of the classic form (_bucket) in Prometheus: 0 when it scraped native histograms. */
  classicSeries: number;
  views: ViewCost[];
  elapsedS: number;
}

/** One scrape as Prometheus makes it (protobuf first, gzip): wall ms and bytes on the wire. */
function scrapeOnce(port: number): Promise<{ ms: number; bytes: number; contentType: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path: "/metrics", headers: { accept: PROTOBUF_ACCEPT, "accept-encoding": "gzip" } }, (res) => {
      let bytes = 0;
      res.on("data", (c: Buffer) => { bytes += c.length; });
      res.once("end", () => resolve({ ms: performance.now() - t0, bytes, contentType: String(res.headers["content-type"]) }));
      res.once("error", reject);
    }).once("error", reject);
  });
}

/** The views the web page and the demo use, as one would call them at this fleet's size. */
function viewPaths(workloads: readonly Workload[]): [string, string][] {
  const svc = `checkout.${workloads[0]!.ns}.svc.cluster.local`;
  return [
    ["latency 5m by user_tier (one service)", `/api/v1/latency?destination_service=${svc}&window=5m&by=user_tier`],
    ["graph 5m", "/api/v1/graph?window=5m"],
    ["overview 5m by user_tier", "/api/v1/overview?window=5m&by=user_tier"],
    // 1h: 12× the steps of 5m, which only a replica that restarted, dropped or lost a series is read at (promql.ts).
    ["overview 1h by user_tier", "/api/v1/overview?window=1h&by=user_tier"],
  ];
}

export async function runFleet(o: FleetOptions): Promise<FleetResult> {
  const runStart = performance.now();
  const intervalS = o.scrapeIntervalS ?? SCRAPE_INTERVAL_S;
  const workloads = fleetWorkloads(o.proxies);
  const replicas: Replica[] = [];
  let prom: Prometheus | undefined;
  let viewer: AggregatorProcess | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  try {
    // Prometheus first, so the replicas run as the Deployment runs them: with prometheus_url set
    // (the views come from Prometheus, and no replica keeps sliding windows of its own).
    const ports = await Promise.all(Array.from({ length: o.replicas }, () => freePort()));
    prom = await Prometheus.start([{ job: "meshlat", targets: ports.map((p) => `127.0.0.1:${p}`) }],
      { intervalS, features: ["native-histograms", "extra-scrape-metrics"] });
    for (let r = 0; r < o.replicas; r++) {
      const proc = await AggregatorProcess.start({ port: ports[r], args: ["--max-series", "20000", "--prometheus-url", prom.url, "--prometheus-step-s", String(intervalS)] });
      replicas.push({ proc, name: `r${r}`, lat: [], points: 0, rejected429: 0, failed: 0, cpu0: 0 });
    }
    // Answers the views from Prometheus, as any replica with prometheus_url does; it takes no batches.
    if (o.views !== false) viewer = await AggregatorProcess.start({ args: ["--prometheus-url", prom.url, "--prometheus-step-s", String(intervalS)] });
    const ring = new HashRing(replicas, (r) => r.proc.url);
    for (const r of replicas) r.cpu0 = cpuTicks(r.proc.pid!);

    // One VM per (proxy, worker); a proxy belongs to workload p mod |workloads|.
    const rand = prng(7);
    interface Vm { wl: Workload; vm: string; seq: number; authority: string; pending: { bytes: Uint8Array; requests: number; points: number }[]; phase: number }
    const vms: Vm[] = [];
    for (let p = 0; p < o.proxies; p++) {
      const wl = workloads[p % workloads.length]!;
      const authority = `${wl.name}.${wl.ns}.${AGG_FQDN}`;
      for (let w = 0; w < o.workers; w++) {
        vms.push({ wl, vm: (p * 64 + w + 1).toString(16).padStart(16, "0"), seq: 0, authority, pending: [], phase: rand() * 1000 });
      }
    }
    let sentPoints = 0, sentRequests = 0, posts = 0, offeredPoints = 0;
    const post = (vm: Vm, b: { bytes: Uint8Array; requests: number; points: number }): Promise<void> => {
      const r = o.balance === "ring" ? ring.pick(vm.authority)! : replicas[Math.floor(Math.random() * replicas.length)]!;
      const t0 = performance.now();
      posts++;
      return new Promise((resolve) => {
        const req = http.request({ host: "127.0.0.1", port: r.proc.port, path: "/v1/batches", method: "POST", agent,
          headers: { host: vm.authority, "content-type": "application/msgpack", "content-length": b.bytes.length } }, (res) => {
          const body: Buffer[] = [];
          res.on("data", (c: Buffer) => body.push(c));
          res.once("end", () => {
            if (res.statusCode !== 204 && res.statusCode !== 429 && r.failed < 3) o.log(`fleet: ${r.name} answered ${res.statusCode}: ${Buffer.concat(body).toString().slice(0, 300)}`);
            r.lat.push(performance.now() - t0);
            if (res.statusCode === 204) { r.points += b.points; sentPoints += b.points; sentRequests += b.requests; vm.pending.shift(); }
            else if (res.statusCode === 429) r.rejected429++;
            else r.failed++;
            resolve();
          });
        });
        req.once("error", () => { r.failed++; resolve(); });
        req.end(b.bytes);
      });
    };
    const templates = new Map<Workload, Template[]>(workloads.map((wl) => [wl, Array.from({ length: VARIANTS }, () => template(wl, rand))]));
    const flush = async (vm: Vm, now: number): Promise<void> => {
      // Each window reports one of its workload's variants: min(26, pool) of its label sets (the sample
      // chain's pools hold 10-20, so all of them), with varying counts.
      const t = templates.get(vm.wl)![Math.floor(rand() * VARIANTS)]!;
      const bytes = instantiate(t, vm.vm, ++vm.seq, now);
      const { requests } = t;
      offeredPoints += t.points;
      if (vm.pending.length >= 16) vm.pending.shift(); // the filter's max_buffered_batches
      vm.pending.push({ bytes, requests, points: t.points });
      // Oldest first, one at a time, as the filter's outbox sends (a retry keeps its seq).
      while (vm.pending.length > 0) {
        const before = vm.pending.length;
        await post(vm, vm.pending[0]!);
        if (vm.pending.length === before) break; // refused: retry on the next tick
      }
    };

    const start = performance.now();
    const cpu0 = process.cpuUsage();
    const end = start + o.seconds * 1000;
    o.log(`fleet: ${o.proxies} proxies × ${o.workers} workers (${vms.length} VMs, ${workloads.length} workloads), ${o.replicas} replica(s), ${o.balance}, ${o.seconds}s`);
    await Promise.all(vms.map(async (vm) => {
      await sleep(vm.phase);
      for (let tick = 1; ; tick++) {
        if (performance.now() >= end) break;
        await flush(vm, Date.now());
        const next = start + vm.phase + tick * 1000;
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
      }
      for (let i = 0; i < 16 && vm.pending.length > 0; i++) { await post(vm, vm.pending[0]!); if (vm.pending.length > 0) await sleep(200); }
    }));
    const elapsedS = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const simulatorCores = (cpu.user + cpu.system) / 1e6 / elapsedS;
    const meanPoints = [...templates.values()].flat().reduce((a, t) => a + t.points, 0) / (templates.size * VARIANTS);
    const nominalPointsPerS = vms.length * meanPoints;
    o.log(`fleet: accepted ${sentPoints} series-points (${Math.round(sentPoints / elapsedS)}/s; offered ${Math.round(offeredPoints / elapsedS)}/s, nominal ${Math.round(nominalPointsPerS)}/s) in ${posts} posts, ${sentRequests} requests; simulator CPU ${simulatorCores.toFixed(2)} cores`);

    // Prometheus must see every request that was accepted: wait for a scrape after the last batch.
    const promRequests = await poll(() => prom!.scalar("sum(meshlat_requests_total)"), (v) => v === sentRequests,
      { timeoutMs: (intervalS * 4 + 10) * 1000, intervalMs: 500, lastOnTimeout: true });
    const rows: ReplicaRow[] = [];
    for (const r of replicas) {
      const inst = `instance="127.0.0.1:${r.proc.port}"`;
      const cpuS = (cpuTicks(r.proc.pid!) - r.cpu0) / TICKS_PER_S;
      r.lat.sort((a, b) => a - b);
      const scrape = await scrapeOnce(r.proc.port);
      if (!scrape.contentType.startsWith("application/vnd.google.protobuf")) throw new Error(`fleet: ${r.name} answered Prometheus' Accept with ${scrape.contentType}, not protobuf`);
      rows.push({
        replica: r.name, points: r.points, cpuS, usPerPoint: r.points > 0 ? (cpuS * 1e6) / r.points : NaN,
        p99Ms: r.lat.length ? r.lat[Math.min(r.lat.length - 1, Math.floor(r.lat.length * 0.99))]! : NaN, r429: r.rejected429,
        labelSets: await prom.scalar(`count(meshlat_requests_total{${inst}})`).then((v) => (Number.isNaN(v) ? 0 : v)),
        series: await prom.scalar(`count({__name__=~"meshlat_.+",${inst}})`),
        scrapeS: await prom.scalar(`max_over_time(scrape_duration_seconds{${inst}}[10m])`),
        scrapeBodyBytes: await prom.scalar(`max_over_time(scrape_body_size_bytes{${inst}}[10m])`),
        scrapeGzipBytes: scrape.bytes,
        rssMiB: peakRssBytes(r.proc.pid!) / 2 ** 20,
      });
    }
    const sum = (k: keyof ReplicaRow) => rows.reduce((a, r) => a + (r[k] as number), 0);
    const total: ReplicaRow = {
      replica: "total", points: sum("points"), cpuS: sum("cpuS"), usPerPoint: (sum("cpuS") * 1e6) / sum("points"),
      p99Ms: Math.max(...rows.map((r) => r.p99Ms)), r429: sum("r429"), labelSets: sum("labelSets"), series: sum("series"),
      scrapeS: Math.max(...rows.map((r) => r.scrapeS)), scrapeBodyBytes: sum("scrapeBodyBytes"), scrapeGzipBytes: sum("scrapeGzipBytes"), rssMiB: sum("rssMiB"),
    };
    const classicSeries = await prom.scalar(`count({__name__=~"${TRAFFIC_HISTOGRAMS}_bucket"})`).then((v) => (Number.isNaN(v) ? 0 : v));
    const families = (await prom.query(`sort_desc(count by (__name__) ({__name__=~"meshlat_.+"}))`)).slice(0, 12);
    o.log(`fleet: series by name: ${families.map((f) => `${f.metric.__name__} ${f.value}`).join(", ")}`);
    const views: ViewCost[] = [];
    for (const [view, path] of viewer ? viewPaths(workloads) : []) {
      views.push(await measureView(viewer!.url, prom.url, view, path));
      const v = views.at(-1)!;
      o.log(`fleet: ${view}: ${fmt(v.wallMs)} ms, ${v.queries} PromQL queries${v.error ? `, failed: ${v.error}` : ""}`);
    }
    const { log: _log, ...opts } = o;
    return {
      opts, sent: sentPoints, sentRequests, promRequests, countsExact: promRequests === sentRequests, rows, total,
      achievedPointsPerS: sentPoints / elapsedS, offeredPointsPerS: offeredPoints / elapsedS, nominalPointsPerS, simulatorCores, classicSeries, views,
      elapsedS: (performance.now() - runStart) / 1000,
    };
  } finally {
    agent.destroy();
    await viewer?.kill("SIGTERM");
    await prom?.stop();
    for (const r of replicas) await r.proc.kill("SIGTERM");
  }
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "–");

const runName = (res: FleetResult) => `P=${res.opts.proxies} W=${res.opts.workers} R=${res.opts.replicas} ${res.opts.balance}`;

/** A column of a markdown table: its header and its alignment row cell ("---" left, "--:" right). */
type Column = readonly [header: string, align: "---" | "--:"];

function markdownTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${columns.map(([header]) => header).join(" | ")} |`,
    `|${columns.map(([, align]) => align).join("|")}|`,
    ...rows.map((cells) => `| ${cells.join(" | ")} |`),
  ].join("\n");
}

const FLEET_COLUMNS: readonly Column[] = [
  ["run", "---"], ["replica", "---"], ["series-points", "--:"], ["points/CPU-s (ingest + scrapes)", "--:"], ["p99 ingest ms", "--:"],
  ["429s", "--:"], ["label sets", "--:"], ["series in Prometheus", "--:"], ["per label set", "--:"], ["scrape s (max)", "--:"],
  ["scrape body bytes", "--:"], ["scrape gzip bytes", "--:"], ["peak RSS MiB", "--:"], ["Prometheus = sent", "---"],
];

export function fleetTable(results: FleetResult[]): string {
  return markdownTable(FLEET_COLUMNS, results.flatMap((res) => (res.opts.replicas > 1 ? [...res.rows, res.total] : res.rows).map((r) => {
    const exact = r.replica === "total" || res.opts.replicas === 1 ? (res.countsExact ? `yes (${fmt(res.promRequests)})` : `NO: ${fmt(res.promRequests)} of ${fmt(res.sentRequests)}`) : "";
    return [runName(res), r.replica, fmt(r.points), fmt(r.points / r.cpuS), fmt(r.p99Ms, 1), fmt(r.r429), fmt(r.labelSets), fmt(r.series),
      fmt(r.series / r.labelSets, 1), fmt(r.scrapeS, 2), fmt(r.scrapeBodyBytes), fmt(r.scrapeGzipBytes), fmt(r.rssMiB), exact];
  })));
}

const LOAD_COLUMNS: readonly Column[] = [
  ["run", "---"], ["nominal series-points/s (P × W × label sets per window)", "--:"], ["offered (flushed) /s", "--:"], ["accepted /s", "--:"],
  ["simulator CPU (cores)", "--:"], ["run s (with setup and waits)", "--:"],
];

/** The load each run offered and achieved: the simulator shares the cores with what it measures. */
export function loadTable(results: FleetResult[]): string {
  return markdownTable(LOAD_COLUMNS, results.map((res) =>
    [runName(res), fmt(res.nominalPointsPerS), fmt(res.offeredPointsPerS), fmt(res.achievedPointsPerS), fmt(res.simulatorCores, 2), fmt(res.elapsedS)]));
}

const VIEW_COLUMNS: readonly Column[] = [
  ["run", "---"], ["view (from Prometheus)", "---"], ["wall ms", "--:"], ["PromQL queries", "--:"],
  ["Prometheus engine ms (sum over queries)", "--:"], ["Prometheus CPU ms", "--:"], ["response bytes", "--:"],
];

/** The views answered from Prometheus after the run (bench/lib/view-cost.ts). */
export function viewTable(results: FleetResult[]): string {
  return markdownTable(VIEW_COLUMNS, results.flatMap((res) => res.views.map((v) =>
    [runName(res), v.view, fmt(v.wallMs), fmt(v.queries), fmt(v.promMs), fmt(v.promCpuMs), v.error ? `failed: ${v.error.replaceAll("|", "/")}` : fmt(v.bytes)])));
}

/** HPA's CPU target (wasmplugin/src/aggregator.ts): replicas are sized to run at this share of a core. */
const HPA_TARGET = 0.7;

/** Capacity per core from a one-replica run, and the replicas a mesh of N sidecars needs. */
export function capacityText(one: FleetResult): string {
  const r = one.rows[0]!;
  const perCore = r.points / r.cpuS;
  const lines = [
    `**Per label set** (one replica, the run above): ${fmt(r.series / r.labelSets, 1)} series in Prometheus (the request counter and five native histograms; the replica's own metrics included), ${fmt(r.scrapeGzipBytes / r.labelSets)} bytes of gzip protobuf and ${fmt(r.scrapeBodyBytes / r.labelSets)} bytes of protobuf per scrape; the aggregator's memory per label set is the benchmark's \`aggregator.memory_per_series_bytes\` ("Latest results" under "Performance").`,
    "",
    `**Capacity per core:** ${fmt(perCore)} series-points per aggregator CPU-second, ingest and ${one.opts.scrapeIntervalS ?? SCRAPE_INTERVAL_S} s scrapes of ${fmt(r.labelSets)} label sets included (one replica, the run above: CPU per point; it accepted ${fmt(one.achievedPointsPerS)} of a nominal ${fmt(one.nominalPointsPerS)} series-points/s, its VMs waiting for each answer as the filter does).`,
    `A mesh of N sidecars with W workers, ${LABEL_SETS_PER_WINDOW} label sets per VM window and 1 s flushes sends N × W × ${LABEL_SETS_PER_WINDOW} series-points per second; a replica (one Node thread) at the HPA's ${HPA_TARGET * 100} % CPU target takes ${fmt(perCore * HPA_TARGET)} of them:`,
    "",
    markdownTable([["sidecars (W=2)", "--:"], ["series-points/s", "--:"], ["replicas for CPU", "--:"]], [100, 500, 2000, 10000].map((n) => {
      const pts = n * 2 * LABEL_SETS_PER_WINDOW;
      return [fmt(n), fmt(pts), fmt(Math.max(1, Math.ceil(pts / (perCore * HPA_TARGET))))];
    })),
  ];
  lines.push("", "Label sets bound a replica too: keep each below `MESHLAT_MAX_SERIES` (4000 in the Deployment); with the ring hash they divide among the replicas.");
  return lines.join("\n");
}

const BEGIN = "<!-- fleet-table:begin (bench/fleet.ts --readme) -->";
const END = "<!-- fleet-table:end -->";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    proxies: { type: "string", default: "200" }, workers: { type: "string", default: "2" }, replicas: { type: "string", default: "1,3" },
    seconds: { type: "string", default: "20" }, balance: { type: "string", default: "ring" }, readme: { type: "boolean", default: false },
    "scrape-interval": { type: "string", default: String(SCRAPE_INTERVAL_S) },
  } });
  const t0 = performance.now();
  const loadBefore = loadavg()[0]!;
  const results: FleetResult[] = [];
  for (const balance of values.balance!.split(",")) {
    for (const r of values.replicas!.split(",")) {
      const res = await runFleet({ proxies: Number(values.proxies), workers: Number(values.workers), replicas: Number(r), seconds: Number(values.seconds),
        balance: balance as "ring" | "random", scrapeIntervalS: Number(values["scrape-interval"]), log: (s) => console.error(s) });
      results.push(res);
    }
  }
  const table = [fleetTable(results), loadTable(results), viewTable(results)].join("\n\n");
  console.log(table);
  const ranS = (performance.now() - t0) / 1000;
  console.log(`fleet: ran ${Math.floor(ranS / 60)} min ${Math.round(ranS % 60)} s`);
  const classic = results.filter((r) => r.classicSeries > 0);
  if (classic.length > 0) console.log(`fleet: Prometheus stored classic buckets (${classic.map((r) => r.classicSeries).join(", ")} _bucket series), not native histograms`);
  const one = results.find((r) => r.opts.replicas === 1 && r.opts.balance === "ring");
  let ok = classic.length === 0 && results.every((r) => r.countsExact);
  const ratios: string[] = [];
  for (const r of results.filter((x) => x.opts.replicas > 1 && x.opts.balance === "ring")) {
    if (!one) break;
    const ratio = r.total.series / one.total.series;
    ratios.push(`Series in Prometheus with ${r.opts.replicas} replicas / one replica's: ${ratio.toFixed(3)} (target ≤ 1.1).`);
    if (ratio > 1.1) ok = false;
  }
  for (const line of ratios) console.log(line);
  if (values.readme) {
    const path = fileURLToPath(new URL("../README.md", import.meta.url));
    const md = readFileSync(path, "utf8");
    const a = md.indexOf(BEGIN), b = md.indexOf(END);
    if (a < 0 || b < a) throw new Error(`README.md has no ${BEGIN} … ${END} section`);
    const capacity = one ? capacityText(one) : "";
    const interval = values["scrape-interval"] === String(SCRAPE_INTERVAL_S) ? "" : ` --scrape-interval ${values["scrape-interval"]}`;
    const note = `Measured ${new Date().toISOString().slice(0, 10)} by \`node --import tsx bench/fleet.ts --proxies ${values.proxies} --workers ${values.workers} --replicas ${values.replicas} --seconds ${values.seconds} --balance ${values.balance}${interval} --readme\` (it ran ${Math.floor(ranS / 60)} min ${Math.round(ranS % 60)} s) on this project's 2-core CI machine (simulator, replicas and Prometheus share the cores; 1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after). Prometheus 2.42 with \`--enable-feature=native-histograms\` scrapes protobuf (as the shipped ServiceMonitor makes it) every ${values["scrape-interval"]} s; its series are counted in its head (\`count({__name__=~"meshlat_.+"})\` per replica), scrape time and body size are its own (\`scrape_duration_seconds\`, \`scrape_body_size_bytes\`), the gzip bytes are one scrape with its Accept after the run. The views are then called once to warm up and three times measured (median) on a further aggregator process with \`prometheus_url\` set; the PromQL queries and the engine's time are read from Prometheus' own \`prometheus_engine_query_duration_seconds\` (prepare + evaluation, added up over queries that run at once), its CPU from \`process_cpu_seconds_total\`.`;
    const parts = [note, table, ...(ratios.length ? [ratios.join("\n")] : []), capacity];
    writeFileSync(path, md.slice(0, a + BEGIN.length) + "\n" + parts.join("\n\n") + "\n" + md.slice(b));
  }
  process.exitCode = ok ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
