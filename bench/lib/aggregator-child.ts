// Runs the aggregator (aggregator/src/app.ts build(config)) in its own process for the
// aggregator benchmarks, so the server has a core of its own and the client's work is not
// counted as the server's. Started with --expose-gc; answers the parent over IPC:
//   { cmd: "heap" }            -> { heapUsed } after full GCs (memory per series)
//   { cmd: "eld-start" }       -> {}            starts an event-loop delay histogram
//   { cmd: "eld-stop" }        -> { maxMs, p99Ms } blocking seen since eld-start
//   { cmd: "cpu" }             -> { cpuUs } process CPU time (user + system) so far
//   { cmd: "gc" }              -> { count, ms, majorCount, majorMs } garbage collections so far
//   { cmd: "stop" }            -> closes the server and exits
// and first sends { port } once listening on 127.0.0.1 with an ephemeral port.
// It also serves POST /bench/noop: the same body read (ingest/body.ts) and 204 as the ingest
// route, without decode, validation or merge — the HTTP floor an ingest figure is compared with.
import { monitorEventLoopDelay, PerformanceObserver, constants as perf } from "node:perf_hooks";
import type { IntervalHistogram } from "node:perf_hooks";
import type { AddressInfo } from "node:net";
import { build } from "../../aggregator/src/app.ts";
import { makeConfig } from "../../aggregator/src/config.ts";
import { BENCH_LIMITS } from "./bench-limits.ts";
import { readBody } from "../../aggregator/src/ingest/body.ts";
import { MSGPACK_TYPES } from "../../aggregator/src/routes/ingest.ts";
import type { FastifyInstance } from "fastify";
import type { IncomingMessage } from "node:http";

const NOOP_PATH = "/bench/noop";

/** The ingest route's HTTP work alone: read the body within the deadline, answer 204. */
async function noopRoute(app: FastifyInstance, timeoutMs: number): Promise<void> {
  app.addContentTypeParser(MSGPACK_TYPES, (_req, payload, done) => readBody(payload as IncomingMessage, timeoutMs, () => {}, done));
  app.post(NOOP_PATH, { schema: { response: { 204: { type: "null" } } } }, async (req, reply) => {
    if (!(req.body instanceof Uint8Array) || req.body.length === 0) throw new Error("empty body");
    return reply.code(204).send();
  });
}

type Msg = { cmd: "heap" | "eld-start" | "eld-stop" | "cpu" | "gc" | "stop" };

async function main(): Promise<void> {
  const overrides = JSON.parse(process.env.MESHLAT_BENCH_CONFIG ?? "{}");
  const config = makeConfig({ port: 0, host: "127.0.0.1", log_level: "silent", ...BENCH_LIMITS, ...overrides });
  const app = build(config).fastify;
  app.register(async (a) => noopRoute(a, config.body_timeout_ms));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const addr = app.server.address() as AddressInfo;
  let eld: IntervalHistogram | undefined;
  const gc = (globalThis as { gc?: () => void }).gc;
  // Collections so far, so that a timed round can say whether a major GC landed in it.
  const gcs = { count: 0, ms: 0, majorCount: 0, majorMs: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcs.count++; gcs.ms += e.duration;
      if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === perf.NODE_PERFORMANCE_GC_MAJOR) { gcs.majorCount++; gcs.majorMs += e.duration; }
    }
  }).observe({ entryTypes: ["gc"] });
  process.on("message", (m: Msg) => {
    switch (m.cmd) {
      case "heap":
        // Two passes: the first may only schedule finalization of what the second frees.
        gc?.(); gc?.();
        process.send!({ heapUsed: process.memoryUsage().heapUsed, exposedGc: !!gc });
        break;
      case "eld-start":
        eld = monitorEventLoopDelay({ resolution: 1 });
        eld.enable();
        process.send!({});
        break;
      case "eld-stop":
        eld?.disable();
        process.send!({ maxMs: (eld?.max ?? 0) / 1e6, p99Ms: (eld?.percentile(99) ?? 0) / 1e6 });
        break;
      case "cpu": {
        const u = process.cpuUsage();
        process.send!({ cpuUs: u.user + u.system });
        break;
      }
      case "gc":
        process.send!({ ...gcs });
        break;
      case "stop":
        void app.close().then(() => process.exit(0));
    }
  });
  // The parent died or dropped us (Ctrl-C, a crash): never linger as an orphan server.
  process.on("disconnect", () => process.exit(0));
  process.send!({ port: addr.port });
}

main().catch((e) => {
  process.send?.({ error: String(e?.stack ?? e) });
  process.exit(1);
});
