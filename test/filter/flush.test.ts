// Flush and failure: empty windows send nothing, batches carry vm/seq, the series table folds
// into `overflow` with exact totals, an unreachable aggregator means bounded buffering with
// counted drops (requests unaffected), and a recovered one gets the kept batches in order
// with their original seq.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runRequest, FilterStatus, type HttpCallResult } from "../host/index.ts";
import {
  harness, decodeBatch, labelsOf, BASE_CONFIG, OUTBOUND, REQ, RESP_200, AGG_CLUSTER, type Harness,
} from "./helpers.ts";

const spec = (dest = "payments.shop.svc.cluster.local") => ({
  info: { clusterName: `outbound|8080||${dest}` }, requestHeaders: REQ, responseHeaders: RESP_200, upstreamMs: 1,
});

/** One flush interval: the clock fires the ticks, then pending http-call answers arrive. */
async function interval(h: Harness, ms = 1000): Promise<void> {
  h.clock.advanceMs(ms);
  await h.plugin.settle();
}

test("empty windows send nothing; the main-thread VM never sends", async () => {
  const h = await harness(BASE_CONFIG, { workers: 2 });
  try {
    for (let i = 0; i < 5; i++) await interval(h);
    assert.equal(h.posts.length, 0);
    runRequest(h.plugin.workers[1]!, h.clock, spec());
    await interval(h);
    await interval(h);
    assert.equal(h.posts.length, 1);
    assert.equal(h.plugin.main.hostCalls.get("env.proxy_http_call") ?? 0, 0);
  } finally {
    h.stop();
  }
});

test("an explicit aggregator_authority is sent as given, not prefixed with the workload", async () => {
  const h = await harness({ ...BASE_CONFIG, aggregator_authority: "agg.example" }, { workers: 1 });
  try {
    runRequest(h.plugin.workers[0]!, h.clock, spec());
    await interval(h);
    assert.equal(h.posts.length, 1);
    assert.equal(Object.fromEntries(h.posts[0]!.headers)[":authority"], "agg.example");
  } finally {
    h.stop();
  }
});

test("the POST: cluster, headers, timeout, msgpack body with vm id and seq per VM", async () => {
  const h = await harness({ ...BASE_CONFIG, aggregator_path: "/ingest", flush_interval_ms: 500 }, { workers: 2 });
  try {
    for (let round = 0; round < 3; round++) {
      for (const w of h.plugin.workers) runRequest(w, h.clock, spec());
      await interval(h, 500);
    }
    assert.equal(h.posts.length, 6);
    const p = h.posts[0]!;
    assert.equal(p.cluster, AGG_CLUSTER);
    const hdr = Object.fromEntries(p.headers);
    assert.equal(hdr[":method"], "POST");
    assert.equal(hdr[":path"], "/ingest");
    // Default authority: the proxy's workload and namespace before the cluster's FQDN, the key
    // Envoy's ring hash pins to one aggregator replica (docs/scale.md).
    assert.equal(hdr[":authority"], "checkout.shop.meshlat-aggregator.istio-system.svc.cluster.local");
    assert.equal(hdr["content-type"], "application/msgpack");
    assert.ok(p.timeoutMs > 0 && p.timeoutMs <= 10000);
    const batches = h.batches();
    const vms = [...new Set(batches.map((b) => b.vm))];
    assert.equal(vms.length, 2, "one VM id per worker VM");
    for (const vm of vms) {
      assert.match(vm, /^[0-9a-f]{16}$/);
      assert.deepEqual(batches.filter((b) => b.vm === vm).map((b) => b.seq), [1, 2, 3]);
    }
    for (const b of batches) {
      assert.equal(b.v, 2);
      assert.equal(b.window[1] - b.window[0], 500);
      assert.equal(b.counters.failed_flushes, 0);
    }
    assert.deepEqual(batches.filter((b) => b.vm === vms[0]).map((b) => b.counters.requests), [1, 2, 3], "cumulative");
  } finally {
    h.stop();
  }
});

test("series table full: overflow series keeps totals exact and the fold count", async () => {
  const h = await harness({ ...BASE_CONFIG, max_series: 16 });
  try {
    const vm = h.plugin.workers[0]!;
    for (let i = 0; i < 40; i++) runRequest(vm, h.clock, spec(`svc-${i}.shop.svc.cluster.local`));
    for (let i = 0; i < 5; i++) runRequest(vm, h.clock, spec("svc-0.shop.svc.cluster.local"));
    vm.tick();
    await h.plugin.settle();
    const b = decodeBatch(h.posts[0]!.body);
    assert.equal(b.series.length, 17);
    const over = b.series.filter((s) => Object.values(labelsOf(b, s)).every((v) => v === "overflow"));
    assert.equal(over.length, 1);
    assert.equal(over[0]![1], 24);
    assert.equal(b.series.reduce((a, s) => a + s[1], 0), 45);
    assert.equal(b.series.reduce((a, s) => a + s[2][0]![0], 0), 45, "request timing n");
    assert.equal(b.series.reduce((a, s) => a + s[2][0]![1], 0), 45 * 1000, "request timing sum");
    assert.equal(b.counters.folded_requests, 24);
    assert.equal(b.counters.requests, 45);
    assert.ok(vm.logs.some((l) => l.level === "warn" && l.message.startsWith("FLT_ERR_SERIES_OVERFLOW")));
    // next window starts empty: no overflow, fold count cumulative
    runRequest(vm, h.clock, spec("fresh.shop.svc.cluster.local"));
    vm.tick();
    await h.plugin.settle();
    const b2 = decodeBatch(h.posts[1]!.body);
    assert.equal(b2.series.length, 1);
    assert.equal(labelsOf(b2, b2.series[0]!).destination_service, "fresh.shop.svc.cluster.local");
    assert.equal(b2.counters.folded_requests, 24);
  } finally {
    h.stop();
  }
});

const failures: { name: string; answer: HttpCallResult; warn?: string }[] = [
  { name: "503", answer: { headers: [[":status", "503"]] } },
  { name: "429", answer: { headers: [[":status", "429"]] } },
  { name: "reset", answer: { reset: true } },
  // No healthy aggregator endpoint / overflow: Envoy answers INTERNAL_FAILURE and never calls
  // back; the flush must count as failed at once and be retried with backoff.
  { name: "no healthy upstream, INTERNAL_FAILURE", answer: { unavailable: "no_healthy_upstream" }, warn: "FLT_ERR_HTTP_CALL" },
  { name: "upstream overflow, INTERNAL_FAILURE", answer: { unavailable: "overflow" }, warn: "FLT_ERR_HTTP_CALL" },
];

for (const f of failures) {
  test(`aggregator down (${f.name}): bounded buffer, counted drops, then in-order delivery with original seq`, async () => {
    const h = await harness({ ...BASE_CONFIG, max_buffered_batches: 3 });
    try {
      const vm = h.plugin.workers[0]!;
      let down = true;
      h.respond = () => (down ? f.answer : { headers: [[":status", "204"]] });
      const delivered: number[] = [];
      const origRespond = h.respond;
      h.respond = (req) => {
        const r = origRespond(req);
        if (!down) delivered.push(decodeBatch(req.body).seq);
        return r;
      };
      for (let i = 0; i < 12; i++) {
        const s = vm.stream({ clusterName: OUTBOUND });
        assert.equal(s.requestHeaders(REQ, true), FilterStatus.Continue, "requests unaffected");
        assert.equal(s.responseHeaders(RESP_200, true), FilterStatus.Continue);
        assert.deepEqual(s.responseHeadersOut, RESP_200);
        s.log();
        s.done();
        await interval(h);
      }
      const failedPosts = h.posts.length;
      assert.ok(failedPosts < 12, `backoff: ${failedPosts} attempts in 12 intervals`);
      assert.ok(failedPosts >= 4, `still retrying: ${failedPosts}`);
      down = false;
      for (let i = 0; i < 40 && delivered.length < 3; i++) await interval(h);
      // 12 batches were made, at most 3 kept: the newest three, in order, as first sent.
      assert.deepEqual(delivered, [10, 11, 12]);
      const last = decodeBatch(h.posts[h.posts.length - 1]!.body);
      assert.equal(last.counters.dropped_batches, 9);
      // every failed attempt before the last batch was encoded is counted
      assert.ok(last.counters.failed_flushes >= failedPosts - 2, `${last.counters.failed_flushes} vs ${failedPosts}`);
      // retries resend the same bytes
      const bySeq = new Map<number, string>();
      for (const p of h.posts) {
        const b = decodeBatch(p.body);
        const hex = Buffer.from(p.body).toString("hex");
        if (bySeq.has(b.seq)) assert.equal(bySeq.get(b.seq), hex, `seq ${b.seq} resent identically`);
        bySeq.set(b.seq, hex);
      }
      assert.equal(vm.failed, false);
      assert.ok(vm.logs.some((l) => l.level === "warn" && l.message.startsWith("FLT_ERR_BATCH_DROPPED")));
      assert.ok(vm.logs.some((l) => l.level === "warn" && l.message.startsWith(f.warn ?? "FLT_ERR_FLUSH_FAILED")));
    } finally {
      h.stop();
    }
  });
}

test("aggregator timeout (no answer) is retried", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    const vm = h.plugin.workers[0]!;
    let hang = true;
    h.respond = () => ({ headers: [[":status", "204"]] });
    const orig = h.respond;
    h.respond = (req) => (hang ? ({ then() {} } as unknown as HttpCallResult) : orig(req));
    runRequest(vm, h.clock, spec());
    h.clock.advanceMs(1000); // tick: POST, never answered
    hang = false;
    // no settle() while the call hangs: the host answers 504 when the call's timeout fires
    for (let i = 0; i < 5; i++) h.clock.advanceMs(1000);
    for (let i = 0; i < 4; i++) await interval(h);

    const seqs = h.posts.map((p) => decodeBatch(p.body).seq);
    assert.deepEqual(seqs, [1, 1]);
    assert.equal(vm.failed, false);
  } finally {
    h.stop();
  }
});

test("400/413/415: the batch is dropped, counted as a failed flush", async () => {
  for (const status of ["400", "413", "415"]) {
    const h = await harness(BASE_CONFIG);
    try {
      const vm = h.plugin.workers[0]!;
      let first = true;
      h.respond = () => {
        const r: HttpCallResult = { headers: [[":status", first ? status : "204"]] };
        first = false;
        return r;
      };
      runRequest(vm, h.clock, spec());
      await interval(h);
      runRequest(vm, h.clock, spec());
      await interval(h);
      await interval(h);
      assert.deepEqual(h.batches().map((b) => b.seq), [1, 2], status);
      assert.equal(h.batches()[1]!.counters.failed_flushes, 1);
      assert.ok(vm.logs.some((l) => l.level === "error" && l.message.startsWith("FLT_ERR_BATCH_REJECTED")));
    } finally {
      h.stop();
    }
  }
});

test("max_buffered_batches 0: a failed batch is dropped at once", async () => {
  const h = await harness({ ...BASE_CONFIG, max_buffered_batches: 0 });
  try {
    const vm = h.plugin.workers[0]!;
    let down = true;
    h.respond = () => ({ headers: [[":status", down ? "503" : "204"]] });
    for (let i = 0; i < 4; i++) {
      runRequest(vm, h.clock, spec());
      await interval(h);
    }
    down = false;
    runRequest(vm, h.clock, spec());
    for (let i = 0; i < 40 && !h.batches().some((b) => b.seq === 5); i++) await interval(h);
    const seqs = h.batches().map((b) => b.seq);
    assert.equal(new Set(seqs).size, seqs.length, "nothing resent");
    const last = h.batches()[h.batches().length - 1]!;
    assert.equal(last.seq, 5);
    assert.equal(last.counters.dropped_batches, 4, "batches 1-4 lost, counted");
  } finally {
    h.stop();
  }
});

test("unknown aggregator cluster: proxy_http_call refused, logged, retried with backoff", async () => {
  const h = await harness({ ...BASE_CONFIG, aggregator_cluster: "outbound|9464||nowhere.svc.cluster.local" });
  try {
    const vm = h.plugin.workers[0]!;
    for (let i = 0; i < 8; i++) {
      runRequest(vm, h.clock, spec());
      await interval(h);
    }
    const calls = vm.hostCalls.get("env.proxy_http_call") ?? 0;
    assert.ok(calls >= 3 && calls < 8, `${calls} attempts`);
    const warns = vm.logs.filter((l) => l.message.startsWith("FLT_ERR_HTTP_CALL"));
    assert.equal(warns.length, 1, "logged once per failure streak");
    assert.equal(vm.failed, false);
  } finally {
    h.stop();
  }
});

test("string table full before the series table: those requests fold into the catch-all, never a half-'overflow' series", async () => {
  const h = await harness({ ...BASE_CONFIG, max_series: 65536 });
  try {
    const vm = h.plugin.workers[0]!;
    const n = 5000; // more distinct destinations than the VM's string table holds (4096)
    for (let i = 0; i < n; i++) { // no clock steps: all in one window
      const s = vm.stream({ clusterName: `outbound|8080||svc-${i}.shop.svc.cluster.local` });
      s.requestHeaders(REQ, true);
      s.responseHeaders(RESP_200, true);
      s.end();
    }
    vm.tick();
    await h.plugin.settle();
    assert.equal(h.posts.length, 1);
    const b = decodeBatch(h.posts[0]!.body);
    const labelled = b.series.map((s) => ({ l: Object.values(labelsOf(b, s)), n: s[1] }));
    const partial = labelled.filter((x) => x.l.includes("overflow") && !x.l.every((v) => v === "overflow"));
    assert.equal(partial.length, 0, `${partial.length} series with some labels 'overflow'`);
    const over = labelled.filter((x) => x.l.every((v) => v === "overflow"));
    assert.equal(over.length, 1);
    assert.equal(b.counters.folded_requests, over[0]!.n);
    assert.equal(b.series.reduce((a, s) => a + s[1], 0), n);
    assert.ok(over[0]!.n > 0 && over[0]!.n < n);
  } finally {
    h.stop();
  }
});

test("a batch pushed out of the buffer while on the wire counts as dropped only when that call fails", async () => {
  for (const answer of ["204", "503"]) {
    const h = await harness({ ...BASE_CONFIG, max_buffered_batches: 1 });
    try {
      const vm = h.plugin.workers[0]!;
      let release: ((r: HttpCallResult) => void) | undefined;
      let slow = true;
      // the cluster handler may answer with a promise (test/host HttpCallHandler); Harness.respond is typed for plain answers
      h.respond = () => (slow ? (new Promise<HttpCallResult>((r) => { release = r; }) as unknown as HttpCallResult) : { headers: [[":status", "204"]] });
      const one = () => {
        const s = vm.stream({ clusterName: OUTBOUND });
        s.requestHeaders(REQ, true);
        s.responseHeaders(RESP_200, true);
        s.end();
      };
      one(); vm.tick(); // batch 1 on the wire, not answered yet
      slow = false;
      one(); vm.tick(); // batch 2 pushes batch 1 out of the one-batch buffer
      assert.ok(release, "batch 1 was sent");
      release({ headers: [[":status", answer]] });
      await h.plugin.settle(); // batch 1 answered, then batch 2 sent
      one(); vm.tick();
      await h.plugin.settle();
      const b = h.batches();
      assert.deepEqual(b.map((x) => x.seq), [1, 2, 3], answer);
      assert.equal(b[2]!.counters.dropped_batches, answer === "204" ? 0 : 1, `answer ${answer}: batch 1 ${answer === "204" ? "was delivered" : "is lost"}`);
    } finally {
      h.stop();
    }
  }
});
