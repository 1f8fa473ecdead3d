// The filter's answer policy for its POSTs (docs/wire-format.md "Aggregator responses"), through
// the real .wasm: which statuses drop a batch and which keep it for a retry, and a Retry-After
// on a 429 (shedding) or 503 (draining) that holds the retry back (delta-seconds only, capped at
// the backoff cap; an HTTP-date or garbage is ignored). Requests never wait for any of it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runRequest, type HttpCallResult } from "../host/index.ts";
import { harness, decodeBatch, BASE_CONFIG, REQ, RESP_200, type Harness } from "./helpers.ts";

const spec = {
  info: { clusterName: "outbound|8080||payments.shop.svc.cluster.local" }, requestHeaders: REQ, responseHeaders: RESP_200, upstreamMs: 1,
};

/** Seconds after the first POST at which each POST of batch 1 was made, with the first answer
 * `first` and every later one 204; `seconds` flush intervals (1 s) are run, with a request in
 * each so the filter keeps working while it waits. The answer arrives within the interval of its
 * POST, so a retry that waits N s after it comes at the first tick N to N+1 s after the POST. */
async function attemptsOf(first: HttpCallResult, seconds = 10): Promise<{ at: number[]; h: Harness }> {
  // enough buffer that batch 1 is not pushed out while it waits (one new batch per interval)
  const h = await harness({ ...BASE_CONFIG, max_buffered_batches: 64 });
  const vm = h.plugin.workers[0]!;
  let t0 = -1n;
  const at: number[] = [];
  h.respond = (req) => {
    const now = h.clock.monoNs();
    if (decodeBatch(req.body).seq === 1) {
      if (t0 < 0n) t0 = now;
      at.push(Number((now - t0) / 1_000_000n) / 1000);
      if (at.length === 1) return first;
    }
    return { headers: [[":status", "204"]] };
  };
  runRequest(vm, h.clock, spec);
  for (let i = 0; i < seconds; i++) {
    h.clock.advanceMs(1000);
    await h.plugin.settle();
    runRequest(vm, h.clock, spec); // recording goes on while a batch waits
  }
  assert.equal(vm.failed, false);
  return { at, h };
}

const retried = (status: string, retryAfter?: string): HttpCallResult => ({
  headers: retryAfter === undefined ? [[":status", status]] : [[":status", status], ["retry-after", retryAfter]],
});

test("without Retry-After a shed batch is retried at the next tick (backoff 1 interval)", async () => {
  const { at, h } = await attemptsOf(retried("429"));
  try {
    assert.deepEqual(at, [0, 1]);
  } finally {
    h.stop();
  }
});

for (const status of ["429", "503"]) {
  test(`${status} with Retry-After: 5 holds the retry back 5 s, then sends the same batch`, async () => {
    const { at, h } = await attemptsOf(retried(status, "5"));
    try {
      assert.equal(at.length, 2, `attempts at ${at.join(", ")} s`);
      assert.ok(at[1]! >= 5 && at[1]! <= 6, `retried ${at[1]} s after the first POST`);
      const bodies = h.posts.filter((p) => decodeBatch(p.body).seq === 1).map((p) => Buffer.from(p.body).toString("hex"));
      assert.equal(bodies[0], bodies[1], "the retry resends the same bytes");
      // nothing is lost: every later window arrives after it, in order
      const seqs = h.batches().map((b) => b.seq);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    } finally {
      h.stop();
    }
  });
}

test("a huge Retry-After is capped at the backoff cap (30 s)", async () => {
  const { at, h } = await attemptsOf(retried("429", "86400"), 45);
  try {
    assert.equal(at.length, 2, `attempts at ${at.join(", ")} s`);
    assert.ok(at[1]! >= 30 && at[1]! <= 31, `retried ${at[1]} s after the first POST`);
  } finally {
    h.stop();
  }
});

// (Envoy strips a value's surrounding whitespace, so " 5" never arrives.)
for (const value of ["Wed, 21 Oct 2015 07:28:00 GMT", "soon", "-3", "1.5", "", "5s"]) {
  test(`Retry-After ${JSON.stringify(value)} is no delta-seconds: ignored, the usual backoff applies`, async () => {
    const { at, h } = await attemptsOf(retried("503", value));
    try {
      assert.deepEqual(at, [0, 1]);
    } finally {
      h.stop();
    }
  });
}

// 403: the caller's mesh identity may not report this batch; 411: no content-length (the filter
// always sends one); 413: too large; 400/415: invalid. Retrying cannot help: drop and count.
for (const status of ["400", "403", "411", "413", "415"]) {
  test(`${status}: the batch is dropped at once, counted as a failed flush and logged`, async () => {
    const { at, h } = await attemptsOf(retried(status), 4);
    try {
      assert.deepEqual(at, [0], "never resent");
      const later = h.batches().filter((b) => b.seq > 1);
      assert.ok(later.length >= 1);
      assert.equal(later[0]!.counters.failed_flushes, 1);
      assert.equal(later[0]!.counters.dropped_batches, 0);
      const vm = h.plugin.workers[0]!;
      assert.ok(vm.logs.some((l) => l.level === "error" && l.message.startsWith(`FLT_ERR_BATCH_REJECTED: the aggregator answered ${status} `)));
    } finally {
      h.stop();
    }
  });
}

// 408: the aggregator timed out reading the body (a slow network): the same POST can succeed.
test("408: the batch is kept and retried", async () => {
  const { at, h } = await attemptsOf(retried("408"), 4);
  try {
    assert.deepEqual(at, [0, 1]);
    assert.ok(h.plugin.workers[0]!.logs.some((l) => l.level === "warn" && l.message.startsWith("FLT_ERR_FLUSH_FAILED: batch seq 1 answered 408")));
  } finally {
    h.stop();
  }
});
