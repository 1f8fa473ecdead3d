// Reliability load test (127.0.0.1 only, bounded in time, ~1 minute): the aggregator as the
// Deployment runs it (MESHLAT_MAX_SERIES=4000, a 640 MB heap, prometheus_url set) under a flood
// of 2,000-series batches on 64 connections, with slow and chunked attackers, and across a
// restart. Writes its figures into README.md's "Reliability" section (between the reliability
// markers).
//   node --import tsx aggregator/scripts/load-test.ts [--no-readme]
import { fork, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import net from "node:net";
import { cpus, loadavg } from "node:os";
import { batchValue, encodeBatch, requests } from "../../test/support/batch-builder.ts";
import { killOnExit } from "../../test/support/child-process.ts";
import { freePort } from "../../test/support/net.ts";
import { poll, sleep } from "../../test/support/poll.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const FLOOD_MS = 10_000;
const ATTACK_MS = 12_000; // past body_timeout_ms (10 s): the slow senders are cut off within it
const BODY_TIMEOUT_MS = 10_000; // the default body_timeout_ms
/** How long after the attack the slow senders may still take to be closed before they count as held. */
const CLOSE_GRACE_MS = 20_000;
const CONNECTIONS = 64;
const SERIES = 2000;

interface Agg { child: ChildProcess; port: number }
interface LoopDelay { p99Ms: number; maxMs: number; worstStall: { wallMs: number; cpuMs: number } }

async function start(port: number): Promise<Agg> {
  // loop-delay.ts reports the aggregator's own event-loop delay over the IPC channel.
  const child = spawn(process.execPath, ["--max-old-space-size=640", "--import", "tsx", "--import", "./aggregator/scripts/loop-delay.ts", "aggregator/src/main.ts",
    "--host", "127.0.0.1", "--port", String(port), "--log-level", "warn", "--drain-period-ms", "0",
    // No sidecar in front of it here to vouch for callers: explicitly off, as in the demo.
    "--caller-identity", "off",
    // Set as in the Deployment, so no sliding windows are kept; no view is asked here, so
    // nothing listens there.
    "--prometheus-url", "http://127.0.0.1:9"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit", "ipc"], env: { ...process.env, MESHLAT_MAX_SERIES: "4000" } });
  killOnExit(child);
  await poll(() => get(port, "/readyz").then((r) => r.status, () => 0), (s) => s === 200, { timeoutMs: 30_000, intervalMs: 50, what: "aggregator ready" });
  return { child, port };
}

/** The aggregator's event-loop delay since the last call (p99 and max). */
function loopDelay(a: Agg): Promise<LoopDelay> {
  return new Promise((resolve) => { a.child.once("message", (m) => resolve(m as LoopDelay)); a.child.send("loop-delay"); });
}

/** Times GETs of `path` every `pauseMs` until `untilMs`, from a process of its own (own event loop). */
function probe(port: number, path: string, untilMs: number, pauseMs = 200): Promise<number[]> {
  const p = fork(new URL("./probe-worker.ts", import.meta.url).pathname, [String(port), path, String(untilMs), String(pauseMs)], { execArgv: ["--import", "tsx"], cwd: ROOT });
  killOnExit(p);
  return new Promise((resolve, reject) => { p.once("message", (m) => resolve(m as number[])); p.once("error", reject); });
}

function stop(a: Agg): Promise<void> {
  return new Promise((r) => { a.child.once("exit", () => r()); a.child.kill("SIGKILL"); });
}

function peakRssMiB(a: Agg): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${a.child.pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS + 8 });

function get(port: number, path: string): Promise<{ status: number; ms: number; body: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => { body += c; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function post(port: number, body: Uint8Array): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/v1/batches", method: "POST", agent, headers: { "content-type": "application/msgpack", "content-length": body.length } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string | undefined }));
    });
    req.on("error", () => resolve({ status: 0, retryAfter: undefined }));
    req.end(body);
  });
}

const p99 = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)]! : NaN; };

/** Sum of meshlat_requests_total over all series. */
async function requestsTotal(port: number): Promise<number> {
  const { body } = await get(port, "/metrics");
  let n = 0;
  for (const m of body.matchAll(/^meshlat_requests_total\{[^}]*\} (\d+)$/gm)) n += Number(m[1]);
  return n;
}

const seriesOf = (count: number) => Array.from({ length: SERIES }, (_, i) => requests(count, { requestMs: 4, upstreamMs: 3, appMs: 2 }, { destination_service: `svc-${i}.load.svc.cluster.local` }));

/** One encoded batch with a placeholder VM id, copied with a fresh id per post: encoding 2,000
 *  series per post would make this client, not the aggregator, the bottleneck. */
function template(series: ReturnType<typeof seriesOf>): (vm: number) => Buffer {
  const PLACEHOLDER = "ffffffffffffffff";
  const bytes = Buffer.from(encodeBatch(batchValue({ vm: PLACEHOLDER, seq: 1, series })));
  const at = bytes.indexOf(PLACEHOLDER, 0, "latin1");
  return (vm) => { const b = Buffer.from(bytes); b.write(vm.toString(16).padStart(16, "0"), at, "latin1"); return b; };
}

async function flood(a: Agg) {
  const next = template(seriesOf(1));
  let vm = 0;
  const byStatus: Record<number, number> = {};
  let withRetryAfter = 0;
  const end = Date.now() + FLOOD_MS;
  const t0 = performance.now();
  const senders = Array.from({ length: CONNECTIONS }, async () => {
    while (Date.now() < end) {
      const r = await post(a.port, next(++vm));
      byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      if (r.status === 429 && r.retryAfter !== undefined) withRetryAfter++;
      if (r.status === 429) await sleep(Number(r.retryAfter ?? 1) * 100); // a tenth of what it asks: harder than a filter
    }
  });
  // Probes in processes of their own: the senders' event loop must not inflate what they measure.
  await loopDelay(a);
  const load = loadavg()[0]!;
  const [health, metrics] = await Promise.all([probe(a.port, "/healthz", end), probe(a.port, "/metrics", end), ...senders]);
  const aggLoop = await loopDelay(a);
  const seconds = (performance.now() - t0) / 1000;
  const accepted = byStatus[204] ?? 0;
  const total = await requestsTotal(a.port);
  return { seconds, accepted, shed: byStatus[429] ?? 0, withRetryAfter, other: Object.entries(byStatus).filter(([s]) => s !== "204" && s !== "429").map(([s, n]) => `${s}×${n}`).join(", ") || "none",
    batchesPerS: accepted / seconds, healthP99: p99(health!), healthMax: Math.max(...health!), metricsP99: p99(metrics!), probes: health!.length, scrapes: metrics!.length, aggLoop, load: [load, loadavg()[0]!], exact: total === accepted * SERIES, total, expected: accepted * SERIES, rss: peakRssMiB(a) };
}

async function attackers(a: Agg) {
  const socks: net.Socket[] = [];
  const hold = (head: string) => { const s = net.connect(a.port, "127.0.0.1"); s.on("error", () => {}); s.write(head + "x"); socks.push(s); return s; };
  const t0 = performance.now();
  const slowClosedAfter: number[] = [];
  const slow = Array.from({ length: 8 }, () => hold(`POST /v1/batches HTTP/1.1\r\nhost: x\r\ncontent-type: application/msgpack\r\ncontent-length: ${8 * 1024 * 1024 - 1}\r\n\r\n`));
  const slowClosed = Promise.all(slow.map((s) => new Promise<void>((r) => s.once("close", () => { slowClosedAfter.push(performance.now() - t0); r(); }))));
  const trickle = setInterval(() => { for (const s of socks.slice(0, 8)) if (!s.destroyed) s.write("x"); }, 1000);
  for (let i = 0; i < 100; i++) hold(`POST /v1/batches HTTP/1.1\r\nhost: x\r\ncontent-type: application/msgpack\r\ntransfer-encoding: chunked\r\n\r\n1\r\n`);
  const next = template(seriesOf(1).slice(0, 100));
  let ok = 0, sent = 0;
  const others: Record<number, number> = {};
  const end = Date.now() + ATTACK_MS;
  while (Date.now() < end) {
    sent++;
    const { status } = await post(a.port, next(0x700000 + sent));
    if (status === 204) ok++; else others[status] = (others[status] ?? 0) + 1;
  }
  // The slow senders' deadline runs from when the aggregator read their headers: give a
  // backlogged aggregator some grace before counting a sender as held.
  await Promise.race([slowClosed, sleep(Math.max(0, t0 + BODY_TIMEOUT_MS + CLOSE_GRACE_MS - performance.now()))]);
  clearInterval(trickle);
  const closed = [...slowClosedAfter];
  for (const s of socks) s.destroy();
  const rest = Object.entries(others).map(([st, n]) => `${st}×${n}`).join(", ");
  return { sent, ok, rest, slowClosed: closed.length, closedS: closed.length ? [Math.min(...closed) / 1000, Math.max(...closed) / 1000] : null };
}

async function restart(port: number) {
  // Ten VMs that have been running a while (seq from 100) and dropped 3 batches each before.
  let a = await start(port);
  const vms = Array.from({ length: 10 }, (_, i) => ({ vm: (0xabc000 + i).toString(16).padStart(16, "0"), seq: 100 }));
  const dropped = async () => { const { body } = await get(a.port, "/metrics"); let n = 0; for (const m of body.matchAll(/^meshlat_filter_dropped_batches_total\{[^}]*\} (\d+)$/gm)) n += Number(m[1]); return n; };
  const round = async () => { for (const v of vms) await post(a.port, encodeBatch(batchValue({ vm: v.vm, seq: ++v.seq, counters: { dropped_batches: 3 }, series: seriesOf(1).slice(0, 5) }))); };
  await round();
  const before = await dropped();
  await stop(a);
  a = await start(port);
  const after: number[] = [];
  for (let i = 0; i < 3; i++) { await round(); after.push(await dropped()); }
  await stop(a);
  return { before, after, fires: after.some((x) => x > 0) };
}

async function main(): Promise<void> {
  const port = await freePort();
  const a = await start(port);
  const f = await flood(a);
  const x = await attackers(a);
  await stop(a);
  const r = await restart(port);
  agent.destroy();
  const lines = [
    `Measured by \`node --import tsx aggregator/scripts/load-test.ts\` on 127.0.0.1 (${new Date().toISOString().slice(0, 16)}Z), the aggregator run as the Deployment runs it (\`MESHLAT_MAX_SERIES=4000\`, \`--max-old-space-size=640\`, \`prometheus_url\` set, so no sliding windows; other options at their defaults):`,
    "",
    "| what | figure |",
    "|---|---|",
    `| flood: ${CONNECTIONS} connections posting ${SERIES.toLocaleString("en")}-series batches for ${(f.seconds).toFixed(0)} s | ${f.batchesPerS.toFixed(0)} batches/s accepted (${f.accepted} batches, ${(f.batchesPerS * SERIES).toFixed(0)} series-points/s) |`,
    `| \`/healthz\` p99 (max) / \`/metrics\` p99 during the flood (${f.probes} / ${f.scrapes} probes, each from a process of its own) | ${f.healthP99.toFixed(0)} (${f.healthMax.toFixed(0)}) ms / ${f.metricsP99.toFixed(0)} ms |`,
    `| the aggregator's own event-loop delay during the flood, p99 / max; its longest stall and the CPU its main thread used in it; the machine's load average (1 min, ${cpus().length} cores) | ${f.aggLoop.p99Ms.toFixed(0)} ms / ${f.aggLoop.maxMs.toFixed(0)} ms; ${f.aggLoop.worstStall.wallMs.toFixed(0)} ms with ${f.aggLoop.worstStall.cpuMs.toFixed(0)} ms CPU; ${f.load[0]!.toFixed(1)} before, ${f.load[1]!.toFixed(1)} after |`,
    `| shed | ${f.shed} answers 429, ${f.withRetryAfter} of them with \`Retry-After\`; other statuses: ${f.other} |`,
    `| counts after the flood | ${f.exact ? "exact" : "NOT exact"}: meshlat_requests_total sums to ${f.total.toLocaleString("en")} = accepted batches × ${SERIES} (${f.expected.toLocaleString("en")}) |`,
    `| peak RSS (VmHWM) | ${f.rss.toFixed(0)} MiB (the Deployment's limit: 1 GiB) |`,
    `| 8 slow senders (8 MiB declared, 1 byte/s) and 100 held chunked bodies, for ${ATTACK_MS / 1000} s | ${x.ok} of ${x.sent} normal batches (one connection, back to back) accepted meanwhile${x.rest ? ` (the others answered ${x.rest})` : ""}; ${x.slowClosed} of 8 slow connections closed by \`body_timeout_ms\` (${BODY_TIMEOUT_MS / 1000} s)${x.closedS ? `, ${x.closedS[0]!.toFixed(1)}–${x.closedS[1]!.toFixed(1)} s after they connected` : ""} |`,
    `| restart (SIGKILL, then the same 10 VMs report again with 3 dropped batches each from before) | meshlat_filter_dropped_batches_total ${r.before} before, ${r.after.join(" → ")} after: ${r.fires ? "an increase (the alert would fire)" : "no increase, no alert"} |`,
  ];
  console.log(lines.join("\n"));
  if (!process.argv.includes("--no-readme")) {
    const path = `${ROOT}README.md`;
    const readme = readFileSync(path, "utf8");
    const block = `<!-- reliability:begin -->\n${lines.join("\n")}\n<!-- reliability:end -->`;
    const next = /<!-- reliability:begin -->[\s\S]*<!-- reliability:end -->/.test(readme)
      ? readme.replace(/<!-- reliability:begin -->[\s\S]*<!-- reliability:end -->/, block)
      : readme.replace(/^## Development$/m, `## Reliability\n\nWhat the aggregator holds under abuse (docs/aggregator.md has the options named here).\n\n${block}\n\n## Development`);
    writeFileSync(path, next);
  }
  const failed = !f.exact || f.withRetryAfter !== f.shed || r.fires || f.other !== "none";
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
