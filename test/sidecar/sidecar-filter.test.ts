// The sidecar running the real built filter: the properties it sets per stream must turn into
// the labels Istio would give (reporter, destination, peer workload, mTLS, regions, response
// code and flags), batches must reach the aggregator cluster over real HTTP, and telemetry
// must never fail or delay a request (aggregator down, filter rejected, filter throwing).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { unpack } from "msgpackr";
import { loadFilter } from "../e2e/stack.ts";
import { FilterStream, type FilterRunner } from "./filter-runner.ts";
import { LoadGenerator } from "./load-generator.ts";
import { Mesh } from "./mesh.ts";
import { closeServer, listen } from "../support/net.ts";
import { until } from "../support/poll.ts";
import type { HttpStream, Vm } from "../host/index.ts";

interface Batch {
  proxy: { workload: string; region: string };
  labels: string[];
  strings: string[];
  series: [number[], number, unknown[]][];
}

/** A stand-in aggregator that records decoded batches and answers 204. */
class BatchSink {
  batches: Batch[] = [];
  /** 204 records the batch; another status refuses it; "hang" never answers. */
  status: number | "hang" = 204;
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.once("end", () => {
      if (this.status === "hang") return;
      if (this.status === 204) this.batches.push(unpack(Buffer.concat(chunks)) as Batch);
      res.writeHead(this.status).end();
    });
  });
  async start(): Promise<string> {
    await listen(this.server);
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  close(): Promise<void> {
    return closeServer(this.server);
  }
  /** Label maps of every series with its count, summed over batches. */
  rows(): { labels: Record<string, string>; count: number }[] {
    const m = new Map<string, { labels: Record<string, string>; count: number }>();
    for (const b of this.batches) {
      // Wire v2: [mask, indices of the labels that differ from the previous series...].
      let prev: number[] = [];
      for (const [[mask, ...changed], count] of b.series) {
        const idx = b.labels.map((_, i) => (mask! & (1 << i) ? changed.shift()! : prev[i]!));
        prev = idx;
        const labels = Object.fromEntries(b.labels.map((n, i) => [n, b.strings[idx[i]!]]));
        const k = JSON.stringify(labels);
        const row = m.get(k) ?? { labels, count: 0 };
        row.count += count;
        m.set(k, row);
      }
    }
    return [...m.values()];
  }
  total(filter: Partial<Record<string, string>>): number {
    return this.rows().filter((r) => Object.entries(filter).every(([k, v]) => r.labels[k] === v)).reduce((s, r) => s + r.count, 0);
  }
}

/** How long a flushed batch may take to reach the sink. */
const FLUSHED = { timeoutMs: 5000, intervalMs: 20 };

describe("sidecar with the meshlat filter", () => {
  let sink: BatchSink;
  let mesh: Mesh;
  before(async () => {
    sink = new BatchSink();
    const url = await sink.start();
    mesh = await Mesh.start({
      module: await loadFilter(),
      aggregatorUrl: url,
      pluginConfig: { flush_interval_ms: 100 },
      services: [
        { name: "frontend", region: "us-east-1", calls: ["checkout"] },
        { name: "checkout", region: "us-east-1", calls: ["payment"] },
        { name: "payment", region: "eu-west-1", nodeLocality: false },
      ],
    });
  });
  after(async () => {
    await mesh?.close();
    await sink?.close();
  });

  test("labels follow Istio's meanings for both reporters of every hop", async () => {
    const lg = new LoadGenerator({ ...mesh.entry(), concurrency: 2, tiers: { premium: 1 } });
    await lg.runCount(20);
    lg.close();
    const want: Record<string, string>[] = [
      { reporter: "destination", destination_service: "frontend.shop.svc.cluster.local", source_workload: "unknown", connection_security_policy: "none", region: "us-east-1", peer_region: "unknown" },
      { reporter: "source", destination_service: "checkout.shop.svc.cluster.local", source_workload: "frontend", connection_security_policy: "unknown", region: "us-east-1", peer_region: "us-east-1" },
      { reporter: "destination", destination_service: "checkout.shop.svc.cluster.local", source_workload: "frontend", connection_security_policy: "mutual_tls", region: "us-east-1" },
      { reporter: "source", destination_service: "payment.shop.svc.cluster.local", source_workload: "checkout", connection_security_policy: "unknown", region: "us-east-1", peer_region: "eu-west-1" },
      // payment's node has no locality: its region comes from the pod label.
      { reporter: "destination", destination_service: "payment.shop.svc.cluster.local", source_workload: "checkout", connection_security_policy: "mutual_tls", region: "eu-west-1" },
    ];
    const ok = (w: Record<string, string>) => sink.total({ ...w, user_tier: "premium", response_code: "200", response_flags: "-" }) === 20;
    await until(() => want.every(ok), { ...FLUSHED, lastOnTimeout: true }); // the assertions below say which one is off
    for (const w of want) {
      assert.equal(sink.total({ ...w, user_tier: "premium", response_code: "200", response_flags: "-" }), 20, `${JSON.stringify(w)} in ${JSON.stringify(sink.rows())}`);
    }
  });

  test("a request with a body streams through the filter (end of stream on the last chunk)", async () => {
    const before = sink.total({ reporter: "destination", destination_service: "frontend.shop.svc.cluster.local", user_tier: "standard" });
    const { port, authority } = mesh.entry();
    const status = await new Promise<number>((resolve, reject) => {
      const r = http.request({ host: "127.0.0.1", port, method: "POST", path: "/", headers: { host: authority, "x-user-tier": "Standard ", "transfer-encoding": "chunked" } }, (res) => {
        res.resume();
        res.once("end", () => resolve(res.statusCode ?? 0));
      });
      r.once("error", reject);
      r.write("a".repeat(1000));
      setImmediate(() => r.end("b".repeat(1000)));
    });
    assert.equal(status, 200);
    await until(() => sink.total({ reporter: "destination", destination_service: "frontend.shop.svc.cluster.local", user_tier: "standard" }) === before + 1, FLUSHED);
  });

  const failures = [
    { name: "no healthy upstream: 503 UH", setup: (m: Mesh) => m.setHealthy("payment", false), undo: (m: Mesh) => m.setHealthy("payment", true), code: "503", flags: "UH" },
  ];
  for (const c of failures) {
    test(`upstream failure reported as Envoy would: ${c.name}`, async () => {
      c.setup(mesh);
      try {
        const before = sink.total({ reporter: "source", destination_service: "payment.shop.svc.cluster.local", response_code: c.code, response_flags: c.flags });
        const lg = new LoadGenerator({ ...mesh.entry(), concurrency: 1 });
        const s = await lg.runCount(3);
        lg.close();
        assert.equal(s.byStatus.get(502), 3); // checkout's app turns the 503 into a 502
        await until(() => sink.total({ reporter: "source", destination_service: "payment.shop.svc.cluster.local", response_code: c.code, response_flags: c.flags }) === before + 3, FLUSHED);
      } finally {
        c.undo(mesh);
      }
    });
  }

  test("upstream slower than the route timeout: 504 UT on the caller's sidecar", async () => {
    const caller = mesh.pod("checkout").sidecar;
    caller.upstreamTimeoutMs = 50;
    mesh.setAppDelay("payment", 200);
    try {
      const lg = new LoadGenerator({ ...mesh.entry(), concurrency: 1 });
      const s = await lg.runCount(2);
      lg.close();
      assert.equal(s.byStatus.get(502), 2);
      await until(() => sink.total({ reporter: "source", destination_service: "payment.shop.svc.cluster.local", response_code: "504", response_flags: "UT" }) === 2, FLUSHED);
    } finally {
      caller.upstreamTimeoutMs = 15_000;
      mesh.setAppDelay("payment", 0);
    }
  });

  test("connection failure to the app: 503 UF on the inbound sidecar", async () => {
    const pod = mesh.pod("payment");
    const port = pod.sidecar.appPort;
    pod.sidecar.appPort = 1;
    try {
      const lg = new LoadGenerator({ ...mesh.entry(), concurrency: 1 });
      await lg.runCount(2);
      lg.close();
      await until(() => sink.total({ reporter: "destination", destination_service: "payment.shop.svc.cluster.local", response_code: "503", response_flags: "UF" }) === 2, FLUSHED);
    } finally {
      pod.sidecar.appPort = port;
    }
  });

  for (const mode of [503, "hang"] as const) {
    test(`aggregator ${mode === "hang" ? "never answering" : "answering 503"}: every request succeeds, none waits on telemetry`, async () => {
      sink.status = mode;
      try {
        const lg = new LoadGenerator({ ...mesh.entry(), concurrency: 2 });
        const t = performance.now();
        const s = await lg.runCount(40);
        lg.close();
        const mean = (performance.now() - t) / 20;
        assert.equal(s.byStatus.get(200), 40);
        // Sanity bound only (loaded CI machines): a request waiting on a flush would take
        // the http-call timeout, or forever with a hanging aggregator.
        assert.ok(mean < 250, `mean ${mean.toFixed(2)} ms per request`);
        assert.deepEqual(mesh.filterErrors(), { frontend: 0, checkout: 0, payment: 0 });
      } finally {
        sink.status = 204;
      }
    });
  }
});

describe("fail open", () => {
  test("a rejected plugin configuration passes traffic without telemetry", async () => {
    const mesh = await Mesh.start({ module: await loadFilter(), aggregatorUrl: "http://127.0.0.1:1", pluginConfig: { flush_interval_ms: 5 } });
    try {
      assert.equal(mesh.pod("frontend").sidecar.filter?.plugin.accepted, false);
      const lg = new LoadGenerator({ ...mesh.entry(), concurrency: 1 });
      const s = await lg.runCount(5);
      lg.close();
      assert.equal(s.byStatus.get(200), 5);
    } finally {
      await mesh.close();
    }
  });

  test("a VM that failed (trap) mid-run is bypassed: traffic keeps flowing", async () => {
    const mesh = await Mesh.start({ module: await loadFilter(), aggregatorUrl: "http://127.0.0.1:1", pluginConfig: { flush_interval_ms: 100 } });
    try {
      const lg = new LoadGenerator({ ...mesh.entry(), concurrency: 2 });
      await lg.runCount(10);
      const vm = mesh.pod("checkout").sidecar.filter!.plugin.workers[0];
      vm.fail(new Error("unreachable executed"), "proxy_on_request_headers"); // what a trap does in the host
      assert.equal(mesh.pod("checkout").sidecar.filter!.healthy, false);
      const s = await lg.runCount(10);
      lg.close();
      assert.equal(s.byStatus.get(200), 20);
      assert.equal(s.failed, 0);
    } finally {
      await mesh.close();
    }
  });

  test("a filter call that throws bypasses the filter for the stream and counts the error", () => {
    let failures = 0;
    const runner = { fail: () => failures++ } as unknown as FilterRunner;
    const vm = { failed: false } as unknown as Vm;
    const calls: string[] = [];
    const throwing = {
      requestHeaders: () => { calls.push("rh"); throw new Error("trap"); },
      responseHeaders: () => calls.push("sh"),
      log: () => calls.push("log"),
      done: () => calls.push("done"),
    } as unknown as HttpStream;
    const s = new FilterStream(throwing, vm, runner);
    s.requestHeaders([], true);
    s.responseHeaders([], true);
    s.end();
    assert.deepEqual(calls, ["rh"]);
    assert.equal(failures, 1);
    assert.equal(s.active, false);
  });
});
