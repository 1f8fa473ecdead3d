// One sample application of the demo mesh, instrumented the way a real service would be:
// it reports its own processing time in `Server-Timing: app;dur=<ms>` and exposes its own
// prom-client histogram `http_request_duration_seconds` on a separate /metrics port.
// It knows nothing about meshlat. Calls to other services go to its pod's outbound sidecar
// with the callee's service name in the Host header (what iptables capture does in Istio).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Histogram, Registry } from "prom-client";
import { closeServer, listen } from "../support/net.ts";
import { sleep } from "../support/poll.ts";
import { seededRandom, type Rand } from "../support/rand.ts";

export interface SampleAppOptions {
  name: string;
  namespace: string;
  /** Injected processing delay in ms, applied to every request. */
  delayMs?: number;
  /** Fraction of requests answered with 500 (0..1), decided by a seeded generator. */
  errorRate?: number;
  /** Services called (in order) for each request, e.g. "checkout.shop.svc.cluster.local:8080" or "checkout:8080". */
  calls?: string[];
  /** Report `Server-Timing: app;dur=…` (default true); without it only paired reporters split the time. */
  serverTiming?: boolean;
  seed?: number;
}

/** Headers an app forwards to the services it calls: the tier and the trace context an
 * instrumented app propagates in Istio (istio.io "Distributed Tracing" overview: x-request-id,
 * traceparent / tracestate, the B3 headers), so one trace id follows a request through the mesh. */
const PROPAGATED = [
  "x-user-tier", "x-request-id", "traceparent", "tracestate",
  "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags", "b3",
];

export class SampleApp {
  readonly name: string;
  readonly namespace: string;
  delayMs: number;
  errorRate: number;
  readonly calls: string[];
  readonly serverTiming: boolean;
  /** Set by the mesh once the pod's sidecar listens: where outbound calls go. */
  outboundPort = 0;
  private readonly rand: Rand;
  private readonly registry = new Registry();
  private readonly histogram: Histogram<"method" | "route" | "status_code">;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private server?: http.Server;
  private metricsServer?: http.Server;

  constructor(opts: SampleAppOptions) {
    this.name = opts.name;
    this.namespace = opts.namespace;
    this.delayMs = opts.delayMs ?? 0;
    this.errorRate = opts.errorRate ?? 0;
    this.calls = opts.calls ?? [];
    this.serverTiming = opts.serverTiming ?? true;
    this.rand = seededRandom(opts.seed ?? 1);
    this.histogram = new Histogram({
      name: "http_request_duration_seconds",
      help: "Time the application spent handling a request (its own view).",
      labelNames: ["method", "route", "status_code"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
  }

  get port(): number {
    return (this.server?.address() as AddressInfo).port;
  }

  get metricsPort(): number {
    return (this.metricsServer?.address() as AddressInfo).port;
  }

  async listen(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    this.metricsServer = http.createServer((req, res) => void this.serveMetrics(req, res));
    await listen(this.server);
    await listen(this.metricsServer);
  }

  async close(): Promise<void> {
    this.agent.destroy();
    await Promise.all([closeServer(this.server), closeServer(this.metricsServer)]);
  }

  private async serveMetrics(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.url !== "/metrics") return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": this.registry.contentType });
    res.end(await this.registry.metrics());
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const start = process.hrtime.bigint();
    req.resume();
    await new Promise<void>((r) => req.once("end", r));
    if (this.delayMs > 0) await sleep(this.delayMs);
    let status = 200;
    const downstream: Record<string, number> = {};
    for (const target of this.calls) {
      const code = await this.call(target, req).catch(() => 0);
      downstream[target] = code;
      if (code !== 200) status = 502;
    }
    if (status === 200 && this.errorRate > 0 && this.rand() < this.errorRate) status = 500;
    // Echo what reached the app, so tests can see what the sidecars forwarded.
    const body = JSON.stringify({ service: this.name, status, downstream, headers: req.headers });
    const durMs = Number(process.hrtime.bigint() - start) / 1e6;
    this.histogram.observe({ method: req.method ?? "GET", route: "/", status_code: String(status) }, durMs / 1000);
    const headers: http.OutgoingHttpHeaders = { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
    // A metric without dur first, as real apps mix them (W3C Server-Timing); meshlat must pick
    // the `app` entry.
    if (this.serverTiming) headers["server-timing"] = `cache;desc="hit", app;dur=${durMs.toFixed(3)}`;
    res.writeHead(status, headers);
    res.end(body);
  }

  private call(target: string, inbound: http.IncomingMessage): Promise<number> {
    const headers: http.OutgoingHttpHeaders = { host: target };
    for (const h of PROPAGATED) {
      const v = inbound.headers[h];
      if (typeof v === "string") headers[h] = v;
    }
    return new Promise((resolve, reject) => {
      const r = http.request(
        { host: "127.0.0.1", port: this.outboundPort, path: "/", method: "GET", headers, agent: this.agent },
        (res) => {
          res.resume();
          res.once("end", () => resolve(res.statusCode ?? 0));
          res.once("error", reject);
        },
      );
      r.once("error", reject);
      r.end();
    });
  }
}
