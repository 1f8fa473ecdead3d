// Who may report and what one sender may cost (issue: hardening the aggregator). Each test failed
// on the code before its fix.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildBatch, requests } from "../../test/support/batch-builder.ts";
import { parseExposition, sample, testApp } from "./helpers.ts";
import { callerIdentity, parseXfcc } from "../src/ingest/identity.ts";

/** What the aggregator's sidecar appends for a caller (Envoy mutateXfccRequestHeader, Istio's Subject/URI/DNS). */
const element = (ns: string, sa = "default") =>
  `By=spiffe://cluster.local/ns/istio-system/sa/meshlat-aggregator;Hash=ab12;Subject="";URI=spiffe://cluster.local/ns/${ns}/sa/${sa}`;

const postAs = (a: ReturnType<typeof testApp>, body: Uint8Array, xfcc?: string) =>
  a.fastify.inject({ method: "POST", url: "/v1/batches", headers: { "content-type": "application/msgpack", ...(xfcc === undefined ? {} : { "x-forwarded-client-cert": xfcc }) }, payload: Buffer.from(body) });

/** The refusal reason, or "" when an identity was found. */
const why = (x: ReturnType<typeof callerIdentity>): string => (typeof x === "string" ? x : "");

test("XFCC: only the last element (the aggregator's own sidecar's) names the caller", () => {
  // With APPEND_FORWARD the caller may send elements of its own; Envoy appends the real one.
  const forged = `URI=spiffe://cluster.local/ns/shop/sa/frontend,${element("evil")}`;
  assert.deepEqual(callerIdentity(forged), { uri: "spiffe://cluster.local/ns/evil/sa/default", namespace: "evil", serviceAccount: "default" });
  assert.equal((callerIdentity(element("shop")) as { namespace: string }).namespace, "shop");
  // A quoted value may hold , ; = and escaped quotes.
  assert.deepEqual(parseXfcc(`Subject="CN=a,O=\\"b\\";x";URI=spiffe://td/ns/a/sa/b`)!.map((e) => Object.fromEntries(e)), [{ subject: ['CN=a,O="b";x'], uri: ["spiffe://td/ns/a/sa/b"] }]);
  // An unbalanced quote in the caller's prefix would swallow our element: refused, not guessed.
  assert.match(why(callerIdentity(`Subject="x,${element("evil")}`)), /malformed/);
  assert.match(why(callerIdentity(undefined)), /no x-forwarded-client-cert/);
  assert.match(why(callerIdentity("By=x;URI=https://example.com")), /no SPIFFE URI/);
  assert.match(why(callerIdentity(element("shop"), "spiffe://cluster.local/ns/other/sa/x")), /By/);
  assert.equal(typeof callerIdentity(element("shop"), "spiffe://cluster.local/ns/istio-system/sa/meshlat-aggregator"), "object");
});

test("caller_identity=namespace: a batch for another namespace, or without an identity, is 403 and counted; its own is 204", async () => {
  const a = testApp({ caller_identity: "namespace" });
  try {
    const batch = buildBatch({ series: [requests(5, { requestMs: 2 })], counters: { dropped_batches: 9_007_199_254_740_991 } });
    for (const xfcc of [undefined, element("evil"), `${element("shop")},${element("evil")}`]) {
      const r = await postAs(a, batch, xfcc);
      assert.equal(r.statusCode, 403, String(xfcc));
      assert.equal(r.json().code, "AGG_ERR_FORBIDDEN");
    }
    let p = parseExposition(await a.scrape());
    assert.equal(sample(p, "meshlat_aggregator_batch_errors_total", { reason: "forbidden" }), 3);
    assert.equal(sample(p, "meshlat_filter_dropped_batches_total", { workload: "frontend", namespace: "shop" }), undefined);
    assert.equal((await postAs(a, buildBatch({ series: [requests(5, { requestMs: 2 })] }), `URI=spiffe://cluster.local/ns/evil/sa/x,${element("shop", "frontend")}`)).statusCode, 204);
    p = parseExposition(await a.scrape());
    assert.equal(sample(p, "meshlat_aggregator_batches_total", { result: "accepted" }), 1);
  } finally { await a.fastify.close(); }
});

test("a known VM's seq cannot jump arbitrarily far ahead (a forged 2^53-1 would turn its later batches into duplicates)", async () => {
  const a = testApp();
  try {
    assert.equal((await a.post(buildBatch({ vm: "00000000000000c1", seq: 1 }))).statusCode, 204);
    const r = await a.post(buildBatch({ vm: "00000000000000c1", seq: Number.MAX_SAFE_INTEGER }));
    assert.equal(r.statusCode, 400);
    assert.equal(r.json().path, "/seq");
    assert.equal((await a.post(buildBatch({ vm: "00000000000000c1", seq: 2 }))).statusCode, 204);
    assert.equal(sample(parseExposition(await a.scrape()), "meshlat_aggregator_batches_total", { result: "accepted" }), 2);
    // Time allows more: a minute later a jump of 600 batches (100 ms ticks) is plausible.
    a.clock.now += 60_000;
    assert.equal((await a.post(buildBatch({ vm: "00000000000000c1", seq: 500 }))).statusCode, 204);
  } finally { await a.fastify.close(); }
});

test("VM-id churn in one namespace evicts only that namespace's VMs: another's retry stays a duplicate; evictions are counted", async () => {
  const a = testApp({ max_vms: 60, max_vms_per_namespace: 20 });
  try {
    const mine = buildBatch({ vm: "00000000000000aa", seq: 1, series: [requests(400, { requestMs: 2 })] });
    assert.equal((await a.post(mine)).statusCode, 204);
    for (let i = 0; i < 200; i++) {
      const vm = (0x1000 + i).toString(16).padStart(16, "0");
      const r = await a.post(buildBatch({ vm, seq: 1, proxy: { namespace: "evil", workload: "churn", id: `p${i}` }, series: [requests(1, { requestMs: 1 }, { source_namespace: "evil" })] }));
      assert.equal(r.statusCode, 204);
    }
    assert.equal((await a.post(mine)).statusCode, 204); // the retry
    const p = parseExposition(await a.scrape());
    assert.equal(sample(p, "meshlat_aggregator_batches_total", { result: "duplicate" }), 1);
    assert.ok(sample(p, "meshlat_aggregator_vms_evicted_total", { reason: "namespace_quota" })! >= 180);
  } finally { await a.fastify.close(); }
});

test("after a restart, a VM first seen mid-life contributes only increases (no false dropped-batches alert)", async () => {
  const a = testApp();
  try {
    // A long-running VM (seq 40) reporting its lifetime totals to a fresh aggregator: not an increase.
    await a.post(buildBatch({ vm: "00000000000000b1", seq: 40, counters: { dropped_batches: 7, requests: 1000 } }));
    let p = parseExposition(await a.scrape());
    assert.equal(sample(p, "meshlat_filter_dropped_batches_total", { workload: "frontend", namespace: "shop" }), 0);
    await a.post(buildBatch({ vm: "00000000000000b1", seq: 41, counters: { dropped_batches: 8, requests: 1010 } }));
    // A VM that started while we listened (seq 1): all of its counts are increases.
    await a.post(buildBatch({ vm: "00000000000000b2", seq: 1, counters: { dropped_batches: 2 } }));
    p = parseExposition(await a.scrape());
    assert.equal(sample(p, "meshlat_filter_dropped_batches_total", { workload: "frontend", namespace: "shop" }), 3);
  } finally { await a.fastify.close(); }
});

test("filter self-metrics are bounded: Kubernetes-length names, at most max_filter_workloads label pairs, the rest shown as overflow and counted", async () => {
  const a = testApp({ max_filter_workloads: 3 });
  try {
    assert.equal((await a.post(buildBatch({ proxy: { namespace: "n".repeat(64) } }))).json().path, "/proxy/namespace");
    assert.equal((await a.post(buildBatch({ proxy: { workload: "w".repeat(254) } }))).json().path, "/proxy/workload");
    for (let i = 0; i < 6; i++) {
      assert.equal((await a.post(buildBatch({ vm: (0x2000 + i).toString(16).padStart(16, "0"), proxy: { workload: `wl-${i}` }, counters: { requests: 10 } }))).statusCode, 204);
    }
    const p = parseExposition(await a.scrape());
    const pairs = [...p.samples.keys()].filter((k) => k.startsWith("meshlat_filter_requests_total{"));
    assert.equal(pairs.length, 4, pairs.join("\n"));
    assert.equal(sample(p, "meshlat_filter_requests_total", { workload: "overflow", namespace: "overflow" }), 30);
    assert.equal(sample(p, "meshlat_aggregator_filter_vms_folded_total"), 3);
  } finally { await a.fastify.close(); }
});

test("one namespace inventing label sets folds only its own new series; another's new service is still stored", async () => {
  const a = testApp({ max_series: 100, max_series_per_namespace: 10 });
  try {
    const evil = Array.from({ length: 50 }, (_, i) => requests(1, { requestMs: 1 }, { destination_service: `fake-${i}.svc`, source_namespace: "evil" }));
    assert.equal((await a.post(buildBatch({ vm: "00000000000000e1", proxy: { namespace: "evil" }, series: evil }))).statusCode, 204);
    assert.equal((await a.post(buildBatch({ series: [requests(3, { requestMs: 2 }, { destination_service: "real.shop.svc.cluster.local" })] }))).statusCode, 204);
    const p = parseExposition(await a.scrape());
    const real = [...p.samples.keys()].find((k) => k.startsWith("meshlat_requests_total{") && k.includes("real.shop.svc.cluster.local"));
    assert.ok(real, "the real service has its own series");
    assert.equal(sample(p, "meshlat_aggregator_series_quota_folded_total", { limit: "namespace_quota" }), 40);
  } finally { await a.fastify.close(); }
});

test("a tiny batch cannot make a huge scrape: labels over the filter's 256 bytes are refused, and the rendered-bytes budget folds the rest", async () => {
  const a = testApp({ max_exposition_bytes: 4 * 1024 * 1024 });
  try {
    const long = (i: number) => `${i}-`.padEnd(250, "x");
    assert.equal((await a.post(buildBatch({ series: [requests(1, { requestMs: 1 }, { destination_service: "y".repeat(257) })] }))).json().code, "AGG_ERR_SCHEMA");
    const series = Array.from({ length: 400 }, (_, i) => requests(1, { requestMs: 1 }, { destination_service: long(i), source_workload: long(i), user_tier: long(i) }));
    assert.equal((await a.post(buildBatch({ series }))).statusCode, 204);
    const text = await a.scrape();
    assert.ok(text.length < 4 * 1024 * 1024 + 64 * 1024, `scrape of ${text.length} bytes`);
    const p = parseExposition(text);
    assert.ok(sample(p, "meshlat_aggregator_series_quota_folded_total", { limit: "exposition_budget" })! > 0);
  } finally { await a.fastify.close(); }
});
