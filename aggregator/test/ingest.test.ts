import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { batchValue, buildBatch, encodeBatch, requests } from "../../test/support/batch-builder.ts";
import { poll } from "../../test/support/poll.ts";
import { parseExposition, sample, testApp, windowAt } from "./helpers.ts";
import type { TestApp } from "./helpers.ts";

const SVC = "checkout.shop.svc.cluster.local";
const SERIES_LABELS = {
  reporter: "source", source_workload: "frontend", source_namespace: "shop", destination_service: SVC,
  response_code: "200", response_flags: "-", connection_security_policy: "unknown", user_tier: "free",
  region: "eu-west-1", peer_region: "eu-west-1",
};

async function withApp(fn: (a: TestApp) => Promise<void>, overrides = {}): Promise<void> {
  const a = testApp(overrides);
  try { await fn(a); } finally { await a.fastify.close(); }
}

/** The traffic part of a scrape (self-metrics change with every request). */
function traffic(text: string): string {
  return text.split("\n").filter((l) => /^(# (HELP|TYPE) )?meshlat_(requests_total|\w+_duration_milliseconds)/.test(l)).join("\n");
}

test("happy path: accepted batch shows up in /metrics with le in ms", () => withApp(async (a) => {
  const r = await a.post(buildBatch({ v: 2, window: windowAt(a.clock.now), series: [requests(5, { requestMs: 12, upstreamMs: 9, appMs: 6 })], counters: { requests: 5 } }));
  assert.equal(r.statusCode, 204);
  const p = parseExposition(await a.scrape());
  assert.equal(sample(p, "meshlat_requests_total", SERIES_LABELS), 5);
  // Classic buckets at powers of two in ms, exact: 12 ms is above 8 and below 16.
  assert.equal(sample(p, "meshlat_request_duration_milliseconds_bucket", { ...SERIES_LABELS, le: "8" }), 0);
  assert.equal(sample(p, "meshlat_request_duration_milliseconds_bucket", { ...SERIES_LABELS, le: "16" }), 5);
  assert.equal(sample(p, "meshlat_request_duration_milliseconds_sum", SERIES_LABELS), 60);
  assert.equal(sample(p, "meshlat_app_duration_milliseconds_count", SERIES_LABELS), 5);
  assert.equal(sample(p, "meshlat_network_duration_milliseconds_sum", SERIES_LABELS), 15);
  assert.equal(sample(p, "meshlat_aggregator_batches_total", { result: "accepted" }), 1);
  assert.equal(sample(p, "meshlat_aggregator_series_points_total"), 1);
  assert.equal(sample(p, "meshlat_aggregator_series"), 1);
  assert.equal(sample(p, "meshlat_filter_requests_total", { workload: "frontend", namespace: "shop" }), 5);
  assert.equal(sample(p, "meshlat_filter_vms", { workload: "frontend", namespace: "shop" }), 1);
}));

test("all three msgpack content types are accepted", () => withApp(async (a) => {
  for (const [i, ct] of ["application/msgpack", "application/vnd.msgpack", "application/x-msgpack; charset=binary"].entries()) {
    const r = await a.post(buildBatch({ seq: i + 1, vm: "00000000000000aa", series: [requests(1, { requestMs: 1 })] }), ct);
    assert.equal(r.statusCode, 204, ct);
  }
}));

const mut = (f: (b: any) => void) => { const b: any = batchValue({ series: [requests(3, { requestMs: 2, upstreamMs: 1 })] }); f(b); return encodeBatch(b); };
const rejections: [string, () => { body: Uint8Array | string; ct?: string }, number, string, string][] = [
  ["truncated msgpack", () => ({ body: buildBatch({ series: [requests(2, { requestMs: 1 })] }).subarray(0, 60) }), 400, "AGG_ERR_DECODE", "decode"],
  ["not msgpack at all", () => ({ body: Uint8Array.from([0xc1]) }), 400, "AGG_ERR_SCHEMA", "schema"],
  ["wrong types", () => ({ body: mut((b) => { b.series[0][1] = "three"; }) }), 400, "AGG_ERR_SCHEMA", "schema"],
  ["negative count", () => ({ body: mut((b) => { b.series[0][1] = -3; }) }), 400, "AGG_ERR_SCHEMA", "schema"],
  ["NaN sum", () => ({ body: mut((b) => { b.series[0][2][0][1] = NaN; }) }), 400, "AGG_ERR_SCHEMA", "schema"],
  ["absurd array size", () => ({ body: Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]) }), 400, "AGG_ERR_DECODE", "decode"],
  ["out-of-range string index", () => ({ body: mut((b) => { b.series[0][0][5] = 1000; }) }), 400, "AGG_ERR_SCHEMA", "schema"],
  ["unknown version", () => ({ body: mut((b) => { b.v = 9; }) }), 400, "AGG_ERR_VERSION", "version"],
  ["huge body", () => ({ body: new Uint8Array(70 * 1024) }), 413, "AGG_ERR_TOO_LARGE", "too_large"],
  ["wrong content type", () => ({ body: '{"v":1}', ct: "application/json" }), 415, "AGG_ERR_CONTENT_TYPE", "content_type"],
  ["empty body", () => ({ body: new Uint8Array() }), 400, "AGG_ERR_DECODE", "decode"],
  ["second series bad after a good one", () => ({ body: mut((b) => { b.series.push(JSON.parse(JSON.stringify(b.series[0]))); b.series[1][2][0][2] = [1, 99]; }) }), 400, "AGG_ERR_SCHEMA", "schema"],
];

test("every rejection returns its status and code and leaves the stored data unchanged", () => withApp(async (a) => {
  assert.equal((await a.post(buildBatch({ window: windowAt(a.clock.now), series: [requests(4, { requestMs: 3 })] }))).statusCode, 204);
  const before = await a.scrape();
  for (const [name, make, status, code, reason] of rejections) {
    const { body, ct } = make();
    const errsBefore = sample(parseExposition(await a.scrape()), "meshlat_aggregator_batch_errors_total", { reason }) ?? 0;
    const r = await a.post(body, ct);
    assert.equal(r.statusCode, status, `${name}: ${r.body}`);
    const j = r.json();
    assert.equal(j.code, code, name);
    assert.equal(typeof j.message, "string");
    assert.equal(typeof j.path, "string");
    const after = await a.scrape();
    assert.equal(traffic(after), traffic(before), `${name} changed the stored series`);
    const p = parseExposition(after);
    assert.equal(sample(p, "meshlat_aggregator_batch_errors_total", { reason }), errsBefore + 1, name);
  }
  const p = parseExposition(await a.scrape());
  assert.equal(sample(p, "meshlat_aggregator_batches_total", { result: "rejected" }), rejections.length);
  assert.equal(sample(p, "meshlat_aggregator_batches_total", { result: "accepted" }), 1);
}, { body_limit_bytes: 64 * 1024 }));

test("a retried batch (same proxy, vm, seq) is merged once; out-of-order seqs are accepted once", () => withApp(async (a) => {
  const vm = "1111111111111111";
  const mk = (seq: number) => buildBatch({ vm, seq, window: windowAt(a.clock.now), series: [requests(2, { requestMs: 1 })] });
  const codes = [];
  for (const seq of [1, 1, 3, 2, 3, 2, 1]) codes.push((await a.post(mk(seq))).statusCode);
  assert.deepEqual(codes, [204, 204, 204, 204, 204, 204, 204]);
  const p = parseExposition(await a.scrape());
  assert.equal(sample(p, "meshlat_requests_total", SERIES_LABELS), 6);
  assert.equal(sample(p, "meshlat_aggregator_batches_total", { result: "accepted" }), 3);
  assert.equal(sample(p, "meshlat_aggregator_batches_total", { result: "duplicate" }), 4);
  // The same vm id from another proxy is another VM.
  assert.equal((await a.post(buildBatch({ vm, seq: 1, proxy: { id: "other" }, series: [requests(2, { requestMs: 1 })] }))).statusCode, 204);
  assert.equal(sample(parseExposition(await a.scrape()), "meshlat_requests_total", SERIES_LABELS), 8);
}));

test("seqs older than the dedupe window are treated as duplicates", () => withApp(async (a) => {
  const vm = "2222222222222222";
  const mk = (seq: number) => buildBatch({ vm, seq, series: [requests(1, { requestMs: 1 })] });
  await a.post(mk(10));
  await a.post(mk(7)); // within (10-4, 10]: new
  await a.post(mk(6)); // 6 <= 10-4: too old
  const p = parseExposition(await a.scrape());
  assert.equal(sample(p, "meshlat_aggregator_batches_total", { result: "accepted" }), 2);
  assert.equal(sample(p, "meshlat_aggregator_batches_total", { result: "duplicate" }), 1);
}, { dedupe_window: 4 }));

test("counters never decrease across batches from several VMs, including lost and reordered ones", () => withApp(async (a) => {
  const vms = ["aaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaa2", "aaaaaaaaaaaaaaa3"];
  const cum = new Map(vms.map((v) => [v, 0]));
  let last = { traffic: 0, filter: 0, dropped: 0 };
  const plan: [number, number, number][] = [[0, 1, 5], [1, 1, 3], [0, 3, 4], [2, 1, 7], [0, 2, 2], [1, 2, 1], [2, 5, 9], [1, 4, 1]];
  for (const [vi, seq, n] of plan) {
    const vm = vms[vi]!;
    cum.set(vm, cum.get(vm)! + n);
    // Batch 2 of vm0 arrives after batch 3, carrying a smaller cumulative counter: the max wins.
    const requestsCounter = vi === 0 && seq === 2 ? 1 : cum.get(vm)!;
    const r = await a.post(buildBatch({ vm, seq, proxy: { workload: "frontend", namespace: "shop", id: `p${vi}` }, series: [requests(n, { requestMs: 2 })], counters: { requests: requestsCounter, dropped_batches: seq } }));
    assert.equal(r.statusCode, 204);
    const p = parseExposition(await a.scrape());
    const now = {
      traffic: sample(p, "meshlat_requests_total", SERIES_LABELS)!,
      filter: sample(p, "meshlat_filter_requests_total", { workload: "frontend", namespace: "shop" })!,
      dropped: sample(p, "meshlat_filter_dropped_batches_total", { workload: "frontend", namespace: "shop" })!,
    };
    for (const k of ["traffic", "filter", "dropped"] as const) assert.ok(now[k] >= last[k], `${k} went down: ${last[k]} -> ${now[k]}`);
    last = now;
  }
  assert.equal(last.traffic, plan.reduce((s, [, , n]) => s + n, 0));
  // max per VM: vm0 9 (its late seq 2 reported 1), vm1 5, vm2 16.
  assert.equal(last.filter, 9 + 5 + 16);
  assert.equal(last.dropped, 3 + 4 + 5);
  assert.equal(sample(parseExposition(await a.scrape()), "meshlat_filter_vms", { workload: "frontend", namespace: "shop" }), 3);
}));

test("evicted VMs keep their counters in the workload totals", () => withApp(async (a) => {
  for (let i = 0; i < 5; i++) {
    await a.post(buildBatch({ vm: `bbbbbbbbbbbbbbb${i}`, seq: 1, counters: { failed_flushes: 10 } }));
  }
  const p = parseExposition(await a.scrape());
  assert.equal(sample(p, "meshlat_filter_failed_flushes_total", { workload: "frontend", namespace: "shop" }), 50);
  assert.equal(sample(p, "meshlat_filter_vms", { workload: "frontend", namespace: "shop" }), 2);
}, { max_vms: 2 }));

test("load shedding: 429 when in-flight bytes would exceed the limit, never for a lone batch; 413 still wins for bodies over the body limit", () => withApp(async (a) => {
  await a.fastify.listen({ host: "127.0.0.1", port: 0 });
  const { port } = a.fastify.server.address() as { port: number };
  const big = buildBatch({ series: Array.from({ length: 60 }, (_, i) => requests(1, { requestMs: 1 }, { destination_service: `service-number-${i}.shop.svc.cluster.local` })) });
  assert.ok(big.length > 2048 && big.length < 8192, String(big.length));
  const post = async (body: Uint8Array) => {
    const r = await fetch(`http://127.0.0.1:${port}/v1/batches`, { method: "POST", headers: { "content-type": "application/msgpack" }, body });
    return { status: r.status, code: r.status === 204 ? undefined : ((await r.json()) as { code: string }).code };
  };
  assert.deepEqual(await post(new Uint8Array(9000)), { status: 413, code: "AGG_ERR_TOO_LARGE" });
  // Above max_inflight_bytes but within body_limit_bytes, alone: a 429 here would be retried forever.
  assert.deepEqual(await post(big), { status: 204, code: undefined });
  const sock = net.connect(port, "127.0.0.1");
  try {
    await new Promise((r) => sock.once("connect", r));
    // Bytes count as they arrive (a declared length alone holds nothing): 2100 of 3000 sent.
    sock.write(`POST /v1/batches HTTP/1.1\r\nhost: x\r\ncontent-type: application/msgpack\r\ncontent-length: 3000\r\n\r\n` + "x".repeat(2100));
    // The half-sent body holds its 2100 bytes once the server has read them.
    const r = await poll(() => post(big), (res) => res.status !== 204, { timeoutMs: 5000, lastOnTimeout: true });
    assert.deepEqual(r, { status: 429, code: "AGG_ERR_SHED" });
  } finally { sock.destroy(); }
  const p = parseExposition(await a.scrape());
  assert.equal(sample(p, "meshlat_aggregator_batches_total", { result: "shed" }), 1);
  assert.equal(sample(p, "meshlat_aggregator_batch_errors_total", { reason: "shed" }), 1);
}, { max_inflight_bytes: 2048, body_limit_bytes: 8192 }));

test("load shedding: 429 while the event loop lags", async () => {
  let lag = true;
  const a = testApp({}, { lagging: () => lag });
  try {
    assert.equal((await a.post(buildBatch())).statusCode, 429);
    lag = false;
    assert.equal((await a.post(buildBatch())).statusCode, 204);
  } finally { await a.fastify.close(); }
});

test("over real HTTP on 127.0.0.1: ingest, duplicate, 415, metrics", () => withApp(async (a) => {
  await a.fastify.listen({ host: "127.0.0.1", port: 0 });
  const addr = a.fastify.server.address();
  assert.ok(addr && typeof addr === "object");
  const base = `http://127.0.0.1:${addr.port}`;
  const body = buildBatch({ vm: "3333333333333333", seq: 1, series: [requests(7, { requestMs: 4 })] });
  for (let i = 0; i < 2; i++) {
    const r = await fetch(`${base}/v1/batches`, { method: "POST", headers: { "content-type": "application/msgpack" }, body });
    assert.equal(r.status, 204);
  }
  const bad = await fetch(`${base}/v1/batches`, { method: "POST", headers: { "content-type": "text/plain" }, body: "x" });
  assert.equal(bad.status, 415);
  assert.equal(((await bad.json()) as { code: string }).code, "AGG_ERR_CONTENT_TYPE");
  const m = await fetch(`${base}/metrics`);
  assert.equal(sample(parseExposition(await m.text()), "meshlat_requests_total", SERIES_LABELS), 7);
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
}));

test("encodeBatch output is what buildBatch sends", () => {
  const v = batchValue({ vm: "4444444444444444", window: [1, 2] });
  assert.deepEqual(encodeBatch(v), encodeBatch(v));
});

test("fuzz: mutated and truncated batches never crash, never 5xx, and a 400 never changes the store", () => withApp(async (a) => {
  let seed = 12345;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
  const good = buildBatch({ vm: "5555555555555555", series: [requests(3, { requestMs: 4, upstreamMs: 3, appMs: 2 }), requests(2, { requestMs: 9 }, { response_code: "503", user_tier: "premium" })], counters: { requests: 5 } });
  let before = traffic(await a.scrape());
  const seen = new Map<number, number>();
  for (let i = 0; i < 400; i++) {
    const b = Buffer.from(good);
    const kind = rnd(3);
    let body: Buffer;
    if (kind === 0) { for (let k = 0; k <= rnd(4); k++) b[rnd(b.length)] = rnd(256); body = b; }
    else if (kind === 1) body = b.subarray(0, rnd(b.length));
    else { b[rnd(b.length)] ^= 1 << rnd(8); body = b; }
    const r = await a.post(body);
    seen.set(r.statusCode, (seen.get(r.statusCode) ?? 0) + 1);
    assert.ok(r.statusCode === 204 || r.statusCode === 400, `iteration ${i}: ${r.statusCode} ${r.body}`);
    const after = traffic(await a.scrape());
    if (r.statusCode === 400) assert.equal(after, before, `iteration ${i}: a rejected batch changed the store`);
    before = after;
  }
  assert.ok((seen.get(400) ?? 0) > 100, JSON.stringify([...seen]));
}));

test("a client that disconnects mid-body releases its in-flight bytes", () => withApp(async (a) => {
  await a.fastify.listen({ host: "127.0.0.1", port: 0 });
  const { port } = a.fastify.server.address() as { port: number };
  const body = buildBatch({ series: Array.from({ length: 20 }, (_, i) => requests(1, { requestMs: 1 }, { destination_service: `s-${i}.shop.svc.cluster.local` })) });
  assert.ok(body.length > 600 && body.length < 3000, String(body.length));
  const post = async () => (await fetch(`http://127.0.0.1:${port}/v1/batches`, { method: "POST", headers: { "content-type": "application/msgpack" }, body })).status;
  const statusBecomes = (want: number) => poll(post, (status) => status === want, { timeoutMs: 5000, lastOnTimeout: true });
  const sock = net.connect(port, "127.0.0.1");
  try {
    await new Promise((r) => sock.once("connect", r));
    sock.write(`POST /v1/batches HTTP/1.1\r\nhost: x\r\ncontent-type: application/msgpack\r\ncontent-length: 5000\r\n\r\n` + "x".repeat(3100));
    assert.equal(await statusBecomes(429), 429, "the half-sent body holds its bytes");
  } finally { sock.destroy(); }
  assert.equal(await statusBecomes(204), 204, "released after the disconnect");
}, { max_inflight_bytes: 3000 }));

test("a VM that returns after idle expiry or LRU eviction is not counted twice in the filter totals", () => withApp(async (a) => {
  const filterRequests = async () => sample(parseExposition(await a.scrape()), "meshlat_filter_requests_total", { workload: "frontend", namespace: "shop" });
  const vm = "6666666666666666";
  const post = async (v: string, seq: number, requests: number) => assert.equal((await a.post(buildBatch({ vm: v, seq, counters: { requests } }))).statusCode, 204);
  await post(vm, 1, 100);
  assert.equal(await filterRequests(), 100);
  a.clock.now += 61_000; // idle past series_ttl_s: the VM's state is evicted
  assert.equal(await filterRequests(), 100, "retired totals keep the evicted VM's counters");
  await post(vm, 2, 150); // the same VM comes back with its cumulative counter
  assert.equal(await filterRequests(), 150);
  // LRU eviction (max_vms = 2) and return.
  await post("7777777777777771", 1, 10);
  await post("7777777777777772", 1, 20);
  assert.equal(await filterRequests(), 180);
  await post(vm, 3, 160);
  assert.equal(await filterRequests(), 190);
  // A retry of a batch merged before the eviction is still a duplicate.
  await post("7777777777777771", 1, 10);
  const p = parseExposition(await a.scrape());
  assert.equal(sample(p, "meshlat_aggregator_batches_total", { result: "duplicate" }), 1);
  assert.equal(sample(p, "meshlat_filter_requests_total", { workload: "frontend", namespace: "shop" }), 190);
}, { series_ttl_s: 60, max_vms: 2 }));
