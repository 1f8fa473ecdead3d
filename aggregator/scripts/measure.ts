// Measures (1) ingest throughput over real HTTP against the real entry point in a child process
// and (2) /metrics render time and size at 10k and 50k stored series.
// Run: node --expose-gc --import tsx aggregator/scripts/measure.ts [--seconds 5] [--series-per-batch 500]
//        [--only=ingest|render|windows] [--window-series 10000]   (windows: run it alone for a clean heap baseline)
import { spawn } from "node:child_process";
import http from "node:http";
import { readFileSync } from "node:fs";

/** CPU seconds (user + system) a process has used, from /proc (Linux): robust on a loaded box. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}
import { build } from "../src/app.ts";
import { makeConfig } from "../src/config.ts";
import { buildBatch, randomVmId, requests } from "../../test/support/batch-builder.ts";
import type { SeriesInput } from "../../test/support/batch-builder.ts";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SECONDS = arg("seconds", 5);
const PER_BATCH = arg("series-per-batch", 500);
const CONCURRENCY = arg("concurrency", 8);

function seriesSet(n: number, offset = 0): SeriesInput[] {
  const tiers = ["free", "standard", "premium", "enterprise"];
  return Array.from({ length: n }, (_, j) => {
    const i = j + offset;
    return requests(3, { requestMs: 5 + (i % 50), upstreamMs: 4 + (i % 50) - (i % 3), appMs: 2 + (i % 20) * 0.1 }, {
      source_workload: `wl-${i % 97}`, destination_service: `svc-${Math.floor(i / 97) % 1000}.ns-${i % 13}.svc.cluster.local`,
      user_tier: tiers[i % 4], response_code: i % 31 === 0 ? "503" : "200", region: `region-${i % 3}`,
    });
  });
}

async function ingestOverHttp(): Promise<void> {
  const main = new URL("../src/main.ts", import.meta.url).pathname;
  const child = spawn(process.execPath, ["--import", "tsx", main, "--host", "127.0.0.1", "--port", "0", "--log-level", "info", "--max-series", "100000", "--caller-identity", "off", "--shed-ingest-busy-percent", "0", "--max-series-per-namespace", "100000", "--max-vms-per-namespace", "1000000", "--max-exposition-bytes", "68719476736"], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let buf = "";
      child.stdout!.on("data", (d: Buffer) => { buf += d.toString(); const m = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(buf); if (m) resolve(Number(m[1])); });
      child.on("exit", () => reject(new Error(buf)));
    });
    child.stdout!.resume();
    // Prebuilt bodies (one VM, increasing seq) so the client spends its time sending, not encoding.
    const pool = seriesSet(10_000);
    const bodies: Uint8Array[] = [];
    const vm = randomVmId();
    let seq = 0;
    const nBodies = 400;
    for (let b = 0; b < nBodies; b++) bodies.push(buildBatch({ vm, seq: ++seq, series: pool.slice((b * PER_BATCH) % pool.length, ((b * PER_BATCH) % pool.length) + PER_BATCH) }));
    const size = bodies.reduce((s, b) => s + b.length, 0) / bodies.length;
    const url = `http://127.0.0.1:${port}/v1/batches`;
    let sent = 0, points = 0, errors = 0;
    const t0 = performance.now();
    const cpu0 = cpuSeconds(child.pid!);
    const deadline = t0 + SECONDS * 1000;
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline && next < bodies.length) {
        const body = bodies[next++]!;
        const r = await fetch(url, { method: "POST", headers: { "content-type": "application/msgpack" }, body });
        await r.arrayBuffer();
        if (r.status === 204) { sent++; points += PER_BATCH; } else errors++;
      }
    }));
    const s = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(child.pid!) - cpu0;
    console.log(`ingest over HTTP: ${sent} batches x ${PER_BATCH} series (${(size / 1024).toFixed(1)} KiB avg) in ${s.toFixed(2)} s, concurrency ${CONCURRENCY}: ${(sent / s).toFixed(0)} batches/s, ${(points / s).toFixed(0)} series-points/s wall; server CPU ${cpu.toFixed(2)} s = ${(points / cpu).toFixed(0)} series-points per CPU-second; ${errors} non-204`);
  } finally {
    child.kill("SIGTERM");
  }
}

async function renderAt(nSeries: number): Promise<void> {
  const { fastify } = build(makeConfig({ log_level: "silent", max_series: nSeries + 10, max_series_per_namespace: nSeries + 10, max_exposition_bytes: 64 * 1024 ** 3, shed_event_loop_delay_ms: 0, body_limit_bytes: 64 * 1024 * 1024 }));
  const vm = randomVmId();
  let seq = 0;
  for (let off = 0; off < nSeries; off += 5000) {
    const r = await fastify.inject({ method: "POST", url: "/v1/batches", headers: { "content-type": "application/msgpack" }, payload: Buffer.from(buildBatch({ vm, seq: ++seq, series: seriesSet(Math.min(5000, nSeries - off), off) })) });
    if (r.statusCode !== 204) throw new Error(r.body);
  }
  // Over real HTTP, counting bytes as they stream: at 50k series the text exceeds V8's
  // maximum string length, so it can only ever exist as a stream.
  await fastify.listen({ host: "127.0.0.1", port: 0 });
  const { port } = fastify.server.address() as { port: number };
  for (const [label, headers] of [["text", {}], ["openmetrics", { accept: "application/openmetrics-text" }], ["text+gzip", { "accept-encoding": "gzip" }]] as const) {
    const times: number[] = [];
    const cpus: number[] = [];
    const turns: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 3; i++) {
      // The longest event-loop turn while the server streams (the reading client shares the loop).
      let longest = 0, last = performance.now(), running = true;
      const tick = () => { const t = performance.now(); longest = Math.max(longest, t - last); last = t; if (running) setImmediate(tick); };
      setImmediate(tick);
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      bytes = await new Promise<number>((resolve, reject) => {
        http.get({ host: "127.0.0.1", port, path: "/metrics", headers }, (res) => {
          let n = 0;
          res.on("data", (d: Buffer) => { n += d.length; });
          res.on("end", () => resolve(n));
        }).on("error", reject);
      });
      running = false;
      turns.push(longest);
      times.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpus.push((c.user + c.system) / 1000);
    }
    times.sort((a, b) => a - b);
    cpus.sort((a, b) => a - b);
    turns.sort((a, b) => a - b);
    console.log(`/metrics ${label} at ${nSeries} series: median ${times[1]!.toFixed(0)} ms wall, ${cpus[1]!.toFixed(0)} ms CPU (server + reading client), ${(bytes / 1024 / 1024).toFixed(1)} MiB, longest event-loop turn ${turns[1]!.toFixed(0)} ms (median of 3)`);
  }
  const heap = process.memoryUsage().heapUsed / 1024 / 1024;
  console.log(`heap used with ${nSeries} series (+ windows): ${heap.toFixed(0)} MiB`);
  await fastify.close();
}

/** Worst case for the windows: every series gets data in every slot for 16 minutes. */
async function windowMemory(nSeries: number): Promise<void> {
  const clock = { now: Date.UTC(2026, 0, 1) };
  const { fastify, state } = build(makeConfig({ log_level: "silent", max_series: nSeries + 10, max_series_per_namespace: nSeries + 10, max_exposition_bytes: 64 * 1024 ** 3, shed_event_loop_delay_ms: 0, body_limit_bytes: 64 * 1024 * 1024 }), { now: () => clock.now });
  const vm = randomVmId();
  let seq = 0;
  const bodies: Buffer[] = [];
  for (let off = 0; off < nSeries; off += 5000) bodies.push(Buffer.from(buildBatch({ vm, seq: 1, series: seriesSet(Math.min(5000, nSeries - off), off) })));
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  for (let t = 0; t < 16 * 60; t += 10) {
    clock.now += 10_000;
    for (const b of bodies) {
      // A fresh vm id per POST keeps every batch first-seen (seq 1).
      const r = await fastify.inject({ method: "POST", url: "/v1/batches", headers: { "content-type": "application/msgpack" }, payload: rewriteVm(b, ++seq) });
      if (r.statusCode !== 204) throw new Error(r.body);
    }
  }
  global.gc?.();
  const mem = process.memoryUsage();
  const used = mem.heapUsed + mem.arrayBuffers - heap0;
  console.log(`windows worst case at ${nSeries} series (data in every 10 s slot for 16 min): ${state.windows.size} window entries, +${(used / 1048576).toFixed(0)} MiB (heap + array buffers), ${(used / state.windows.size).toFixed(0)} B per entry`);
  await fastify.close();
}

/** Copies a built body with another 16-hex vm id (same length, so the bytes stay valid). */
function rewriteVm(b: Buffer, n: number): Buffer {
  const out = Buffer.from(b);
  const at = out.indexOf(Buffer.from([0xa2, 0x76, 0x6d, 0xb0])); // "vm" key, then a 16-char fixstr
  out.write(n.toString(16).padStart(16, "0"), at + 4, "latin1");
  return out;
}

const only = process.argv.find((a) => a.startsWith("--only="))?.slice(7);
if (!only || only === "ingest") await ingestOverHttp();
if (!only || only === "render") for (const n of [10_000, 50_000]) await renderAt(n);
if (!only || only === "windows") await windowMemory(arg("window-series", 10_000));
