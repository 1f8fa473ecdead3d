// Defects found by probing the aggregator as an attacker or an unlucky operator would: each test
// here failed on the code before its fix.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { gzipSync } from "node:zlib";
import { buildBatch, requests } from "../../test/support/batch-builder.ts";
import { parseExposition, sample, testApp } from "./helpers.ts";
import type { TestApp } from "./helpers.ts";
import type { ConfigKey } from "../src/config.ts";
import { poll } from "../../test/support/poll.ts";

async function listening(overrides: Partial<Record<ConfigKey, number | string>> = {}): Promise<{ a: TestApp; base: string; port: number }> {
  const a = testApp(overrides);
  await a.fastify.listen({ host: "127.0.0.1", port: 0 });
  const { port } = a.fastify.server.address() as { port: number };
  return { a, base: `http://127.0.0.1:${port}`, port };
}

const post = (base: string, body: Uint8Array, headers: Record<string, string> = {}) =>
  fetch(`${base}/v1/batches`, { method: "POST", headers: { "content-type": "application/msgpack", ...headers }, body });

/** Opens a raw connection and sends a POST's headers (and `first` body bytes) without finishing it. */
async function holdBody(port: number, head: string, first = ""): Promise<{ sock: net.Socket; response: () => string; closed: () => boolean }> {
  const sock = net.connect(port, "127.0.0.1");
  await new Promise((r) => sock.once("connect", r));
  let response = "";
  sock.on("data", (d: Buffer) => { response += d.toString(); });
  let isClosed = false;
  sock.once("close", () => { isClosed = true; });
  const closed = () => isClosed;
  sock.on("error", () => {});
  sock.write(head + first);
  return { sock, response: () => response, closed };
}

const until = (what: string, cond: () => boolean | Promise<boolean>) => poll(cond, Boolean, { timeoutMs: 10_000, intervalMs: 5, what });

test("a slow body is cut off after body_timeout_ms (408, connection closed) and does not block other ingest", async () => {
  const { a, base, port } = await listening({ body_timeout_ms: 300, max_concurrent_ingest: 2, max_inflight_bytes: 1024 * 1024 });
  const held: net.Socket[] = [];
  try {
    // Eight senders declaring 8 MiB-ish bodies and trickling: before, they held every ingest slot.
    const slow: Awaited<ReturnType<typeof holdBody>>[] = [];
    for (let i = 0; i < 8; i++) {
      const h = await holdBody(port, `POST /v1/batches HTTP/1.1\r\nhost: x\r\ncontent-type: application/msgpack\r\ncontent-length: 900000\r\n\r\n`, "x");
      held.push(h.sock);
      slow.push(h);
    }
    await until("the slow senders' connections closed", () => slow.every((h) => h.closed()));
    assert.ok(slow.some((h) => /^HTTP\/1\.1 408/.test(h.response())), slow.map((h) => h.response().split("\r\n")[0]).join(" | "));
    const r = await post(base, buildBatch({ series: [requests(3, { requestMs: 2 })] }));
    assert.equal(r.status, 204);
    const p = parseExposition(await a.scrape());
    assert.ok((sample(p, "meshlat_aggregator_batch_errors_total", { reason: "timeout" }) ?? 0) >= 1);
  } finally {
    for (const s of held) s.destroy();
    await a.fastify.close();
  }
});

test("a chunked body (no content-length) is 411 and holds no in-flight budget", async () => {
  const { a, port, base } = await listening({ max_inflight_bytes: 2048, body_limit_bytes: 8192 });
  try {
    const h = await holdBody(port, `POST /v1/batches HTTP/1.1\r\nhost: x\r\ncontent-type: application/msgpack\r\ntransfer-encoding: chunked\r\n\r\n`, "5\r\nhello\r\n");
    await until("a 411", () => /\r\n\r\n/.test(h.response()));
    assert.match(h.response(), /^HTTP\/1\.1 411/);
    assert.match(h.response(), /AGG_ERR_LENGTH_REQUIRED/);
    h.sock.destroy();
    assert.equal((await post(base, buildBatch())).status, 204);
  } finally { await a.fastify.close(); }
});

test("over max_concurrent_ingest: 429 with Retry-After (and a lone batch is always admitted)", async () => {
  const { a, port, base } = await listening({ max_concurrent_ingest: 2, shed_retry_after_s: 3 });
  const socks: net.Socket[] = [];
  try {
    assert.equal((await post(base, buildBatch())).status, 204);
    // The held requests are admitted once the server has their headers (their onRequest hook):
    // post only then, or the post may take a slot first and leave a held request refused.
    let seen = 0;
    a.fastify.server.on("request", () => { seen++; });
    for (let i = 0; i < 2; i++) socks.push((await holdBody(port, `POST /v1/batches HTTP/1.1\r\nhost: x\r\ncontent-type: application/msgpack\r\ncontent-length: 100\r\n\r\n`, "x")).sock);
    await until("the held requests' headers received", () => seen === 2);
    await new Promise((r) => setImmediate(r));
    const r = await post(base, buildBatch({ seq: 2 }));
    assert.equal(r.status, 429);
    assert.equal(r.headers.get("retry-after"), "3");
    assert.equal(((await r.json()) as { code: string }).code, "AGG_ERR_SHED");
    // /healthz and /metrics are not ingest: still served.
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/metrics`)).status, 200);
  } finally {
    for (const s of socks) s.destroy();
    await a.fastify.close();
  }
});

test("the event-loop shed answers 429 with Retry-After too", async () => {
  const a = testApp({ shed_retry_after_s: 2 }, { lagging: () => true });
  try {
    const r = await a.post(buildBatch());
    assert.equal(r.statusCode, 429);
    assert.equal((r as unknown as { headers: Record<string, string> }).headers["retry-after"], "2");
  } finally { await a.fastify.close(); }
});

test("a content-encoded body is 415, not parsed as MessagePack", async () => {
  const { a, base } = await listening();
  try {
    const raw = buildBatch({ series: [requests(3, { requestMs: 2 })] });
    for (const [enc, body] of [["gzip", gzipSync(raw)], ["deflate", raw], ["br", raw]] as const) {
      const r = await post(base, body, { "content-encoding": enc });
      assert.equal(r.status, 415, enc);
      assert.equal(((await r.json()) as { code: string }).code, "AGG_ERR_CONTENT_TYPE", enc);
    }
    const p = parseExposition(await a.scrape());
    assert.equal(sample(p, "meshlat_requests_total", { reporter: "source", source_workload: "frontend", source_namespace: "shop", destination_service: "checkout.shop.svc.cluster.local", response_code: "200", response_flags: "-", connection_security_policy: "unknown", user_tier: "free", region: "eu-west-1", peer_region: "eu-west-1" }), undefined);
    assert.equal((await post(base, raw, { "content-encoding": "identity" })).status, 204);
  } finally { await a.fastify.close(); }
});

test("logs carry paths without query strings and never echo a rejected body's bytes", async () => {
  const lines: string[] = [];
  const a = testApp({ log_level: "info" }, { logStream: { write: (l: string) => { lines.push(l); } } });
  try {
    await a.get("/api/v1/latency?destination_service=secret-query-value.svc&window=1m");
    const { pack } = await import("msgpackr");
    const body = Buffer.concat([pack({ token: "CLIENT-SECRET-BYTES" }), Buffer.from([1, 2, 3])]);
    const r = await a.post(body);
    assert.equal(r.statusCode, 400);
    assert.doesNotMatch(r.body, /CLIENT-SECRET-BYTES/);
    const log = lines.join("");
    assert.match(log, /"url":"\/api\/v1\/latency"/);
    assert.doesNotMatch(log, /secret-query-value/);
    assert.doesNotMatch(log, /CLIENT-SECRET-BYTES/);
  } finally { await a.fastify.close(); }
});

test("meshlat_filter_dropped_batches_total says it is an upper bound", async () => {
  const a = testApp();
  try {
    await a.post(buildBatch({ counters: { dropped_batches: 1 } }));
    const p = parseExposition(await a.scrape());
    assert.match(p.families.get("meshlat_filter_dropped_batches_total")!.help, /upper bound/);
  } finally { await a.fastify.close(); }
});

test("shedding on ingest work: past shed_ingest_busy_percent of the last second, 429 with Retry-After; admitted again once it passes", async () => {
  const { Admission } = await import("../src/ingest/admission.ts");
  const { makeConfig } = await import("../src/config.ts");
  let now = 10_000;
  const adm = new Admission({ config: makeConfig({ shed_ingest_busy_percent: 50, shed_retry_after_s: 1 }), pressure: () => null, draining: () => false, clock: () => now });
  const headers = { "content-length": "100" };
  const held = adm.admit(headers); // one in flight, so the next one is not a lone request
  adm.admit(headers);
  adm.worked(600);
  assert.throws(() => adm.admit(headers), (e: any) => e.code === "AGG_ERR_SHED" && e.retryAfterS === 1 && /shed_ingest_busy_percent/.test(e.message));
  now += 1_100; // that second has passed
  adm.admit(headers);
  adm.release(held);
});
