// The sample mesh and the sidecar as a proxy (no filter here; sidecar-filter.test.ts runs the
// real filter): routing through both sidecars of each hop, header propagation, Server-Timing,
// the local replies Envoy would send on upstream failures, and injected delays.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Mesh } from "./mesh.ts";
import { LoadGenerator } from "./load-generator.ts";

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  ms: number;
}

function get(port: number, host: string, headers: Record<string, string> = {}): Promise<Reply> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const r = http.get({ host: "127.0.0.1", port, path: "/", headers: { host, ...headers } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.once("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: performance.now() - t }));
    });
    r.once("error", reject);
  });
}

describe("sample mesh without a filter", () => {
  let mesh: Mesh;
  before(async () => {
    mesh = await Mesh.start({
      services: [
        { name: "frontend", region: "us-east-1", calls: ["checkout"] },
        { name: "checkout", region: "us-east-1", calls: ["payment"] },
        { name: "payment", region: "eu-west-1" },
      ],
    });
  });
  after(() => mesh?.close());

  test("a request crosses frontend → checkout → payment and reports app time", async () => {
    const { port, authority } = mesh.entry();
    const r = await get(port, authority, { "x-user-tier": "premium" });
    assert.equal(r.status, 200);
    assert.match(String(r.headers["server-timing"]), /^cache;desc="hit", app;dur=\d+\.\d{3}$/);
    const body = JSON.parse(r.body) as { service: string; downstream: Record<string, number>; headers: Record<string, string> };
    assert.equal(body.service, "frontend");
    assert.deepEqual(body.downstream, { "checkout.shop.svc.cluster.local:8080": 200 });
    // What the app received: Envoy's additions, the original Host, no peer headers.
    assert.equal(body.headers.host, "frontend.shop.svc.cluster.local:8080");
    assert.equal(body.headers["x-user-tier"], "premium");
    assert.equal(body.headers["x-forwarded-proto"], "http");
    assert.match(body.headers["x-request-id"], /^[0-9a-f-]{36}$/);
    assert.equal(body.headers["x-envoy-peer-metadata"], undefined);
    // The peer-metadata headers are consumed by the sidecars, never seen by the client.
    assert.equal(r.headers["x-envoy-peer-metadata"], undefined);
  });

  test("metadata exchange: peer headers travel between sidecars only", async () => {
    // frontend's outbound listener → checkout's inbound listener → checkout's app
    const r = await get(mesh.pod("frontend").sidecar.outboundPort, "checkout.shop.svc.cluster.local:8080");
    assert.equal(r.status, 200);
    const seen = (JSON.parse(r.body) as { headers: Record<string, string> }).headers;
    assert.equal(seen["x-envoy-peer-metadata"], undefined, "the inbound sidecar consumes the caller's peer headers");
    assert.equal(seen["x-envoy-peer-metadata-id"], undefined);
    assert.equal(r.headers["x-envoy-peer-metadata"], undefined, "the outbound sidecar consumes the callee's");
  });

  const failures = [
    { name: "no healthy upstream → 503 (UH)", setup: (m: Mesh) => m.setHealthy("payment", false), undo: (m: Mesh) => m.setHealthy("payment", true), frontendStatus: 502 },
    { name: "app error → 500 → callers 502", setup: (m: Mesh) => m.setErrorRate("payment", 1), undo: (m: Mesh) => m.setErrorRate("payment", 0), frontendStatus: 502 },
  ];
  for (const c of failures) {
    test(c.name, async () => {
      c.setup(mesh);
      try {
        const { port, authority } = mesh.entry();
        const r = await get(port, authority);
        assert.equal(r.status, c.frontendStatus);
      } finally {
        c.undo(mesh);
      }
    });
  }

  test("outbound: unknown service → 404 NR, no healthy endpoint → 503, closed port → 503", async () => {
    const out = mesh.pod("checkout").sidecar.outboundPort;
    assert.equal((await get(out, "nowhere.shop.svc.cluster.local:8080")).status, 404);
    mesh.setHealthy("payment", false);
    try {
      const r = await get(out, "payment.shop.svc.cluster.local:8080");
      assert.equal(r.status, 503);
      assert.equal(r.body, "no healthy upstream");
    } finally {
      mesh.setHealthy("payment", true);
    }
    const app = mesh.pod("payment").app;
    const appPort = mesh.pod("payment").sidecar.appPort;
    mesh.pod("payment").sidecar.appPort = 1; // nothing listens there
    try {
      const r = await get(mesh.pod("payment").sidecar.inboundPort, "payment.shop.svc.cluster.local:8080");
      assert.equal(r.status, 503);
      assert.match(r.body, /connection failure/);
    } finally {
      mesh.pod("payment").sidecar.appPort = appPort;
    }
    assert.ok(app);
  });

  test("injected app delay and network delay both lengthen the caller's view", async () => {
    const { port, authority } = mesh.entry();
    mesh.setNetworkDelay("checkout", "payment", 60);
    mesh.setAppDelay("payment", 40);
    try {
      const r = await get(port, authority);
      assert.ok(r.ms >= 100, `expected ≥ 100 ms, got ${r.ms}`);
      // payment's own time grew by the app delay only; frontend's own time includes both.
      const dur = Number(String(r.headers["server-timing"]).split("dur=")[1]);
      assert.ok(dur >= 100, `frontend app dur ${dur}`);
    } finally {
      mesh.setNetworkDelay("checkout", "payment", 0);
      mesh.setAppDelay("payment", 0);
    }
  });

  test("load generator counts what it sent, per tier and status", async () => {
    const { port, authority } = mesh.entry();
    const lg = new LoadGenerator({ port, authority, concurrency: 3, tiers: { free: 1, premium: 1, "": 1 } });
    try {
      const s = await lg.runCount(30);
      assert.equal(s.sent, 30);
      assert.equal(s.completed, 30);
      assert.equal(s.failed, 0);
      assert.equal(s.byStatus.get(200), 30);
      assert.equal([...s.byTier.values()].reduce((a, b) => a + b, 0), 30);
    } finally {
      lg.close();
    }
  });
});
