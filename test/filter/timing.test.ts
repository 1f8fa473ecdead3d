// Exact timings: the clock is driven between the phases, every histogram's n, sum, scale,
// offset and bucket counts are checked in the decoded batch; the Server-Timing parser sees a table of friendly
// and hostile header values.
import { test } from "node:test";
import assert from "node:assert/strict";
import { harness, oneBatch, BASE_CONFIG, OUTBOUND, REQ, type Timing } from "./helpers.ts";
import { expTimingOf } from "../support/batch-builder.ts";

/** Expected timing from observed µs values, recorded as the reference encoder records them. */
function timing(values: number[]): Timing {
  if (values.length === 0) return null;
  const t = expTimingOf(values.map((us) => us / 1000));
  return [t.n, t.sumUs, { scale: t.scale, zero: t.zero, offset: t.offset, counts: t.counts }];
}

test("t0..t3 with body phases and Server-Timing -> every timing, sum and bucket", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    const vm = h.plugin.workers[0]!;
    const c = h.clock;
    // request 0 (first: ticks fire while the clock runs 70 s, before anything was logged):
    // 70 s (the old v1 bounds ended at 60 s); no app in its header -> no app/network.
    let s = vm.stream({ clusterName: OUTBOUND });
    s.requestHeaders([...REQ, ["x-user-tier", "free"]], true);
    c.advanceNs(70_000_000_000);
    s.responseHeaders([[":status", "200"]], true);
    s.log();
    s.done();
    // request 1: t1 = t0 + 3 ms (body), upstream 20.4 ms, response body 1.25 ms, app 15.2 ms
    s = vm.stream({ clusterName: OUTBOUND });
    s.requestHeaders([...REQ, ["x-user-tier", "free"]], false);
    c.advanceNs(3_000_000);
    s.requestBody(new Uint8Array(10), true);
    c.advanceNs(20_400_000);
    s.responseHeaders([[":status", "200"], ["server-timing", "db;dur=3.1, app;dur=15.2"]], false);
    c.advanceNs(1_250_000);
    s.responseBody(new Uint8Array(10), true);
    c.advanceNs(9_000_000); // after the last byte: not part of the request time
    s.log();
    s.done();
    // request 2: trailers end both directions; sub-µs rounding (1499 ns -> 1 µs, 1500 ns -> 2 µs)
    s = vm.stream({ clusterName: OUTBOUND });
    s.requestHeaders([...REQ, ["x-user-tier", "free"]], false);
    c.advanceNs(1_499);
    s.requestTrailers([["x-t", "1"]]);
    c.advanceNs(1_500);
    s.responseHeaders([[":status", "200"], ["server-timing", "app;dur=0.001"]], false);
    c.advanceNs(40_000);
    s.responseTrailers([["grpc-status", "0"]]);
    s.log();
    s.done();
    // request 3: app longer than upstream -> network floored at 0.
    s = vm.stream({ clusterName: OUTBOUND });
    s.requestHeaders([...REQ, ["x-user-tier", "free"]], true);
    c.advanceNs(2_000_000);
    s.responseHeaders([[":status", "200"], ["server-timing", "app;dur=3"]], true);
    s.log();
    s.done();

    const b = await oneBatch(h, []);
    assert.equal(b.series.length, 1);
    const [, count, t] = b.series[0]!;
    assert.equal(count, 4);
    // request = t3 - t0 (rounded from ns each), upstream = t2 - t1, proxy = request - upstream
    const request = [70_000_000, 24650, Math.round(42_999 / 1000), 2000];
    const upstream = [70_000_000, 20400, 2, 2000];
    assert.deepEqual(t[0], timing(request), "request");
    assert.deepEqual(t[1], timing(upstream), "upstream");
    assert.deepEqual(t[2], timing(request.map((r, i) => r - upstream[i]!)), "proxy");
    assert.deepEqual(t[3], timing([15200, 1, 3000]), "app");
    assert.deepEqual(t[4], timing([5200, 1, 0]), "network");
  } finally {
    h.stop();
  }
});

test("a response that never ends (reset) closes at proxy_on_log", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    const vm = h.plugin.workers[0]!;
    const s = vm.stream({ clusterName: OUTBOUND });
    s.requestHeaders(REQ, true);
    h.clock.advanceMs(4);
    s.responseHeaders([[":status", "200"]], false);
    h.clock.advanceMs(1);
    s.responseBody(new Uint8Array(3), false);
    h.clock.advanceMs(5);
    s.log();
    s.done();
    const b = await oneBatch(h, []);
    const t = b.series[0]![2];
    assert.deepEqual(t[0], timing([10000]));
    assert.deepEqual(t[1], timing([4000]));
    assert.deepEqual(t[2], timing([6000]));
  } finally {
    h.stop();
  }
});

const serverTiming: { name: string; lines: string[]; app: number | null }[] = [
  { name: "single entry", lines: ["app;dur=12.5"], app: 12500 },
  { name: "several entries", lines: ["miss, db;dur=53, app;dur=47.2"], app: 47200 },
  { name: "no dur", lines: ["app"], app: null },
  { name: "empty dur", lines: ["app;dur="], app: null },
  { name: "dur not a number", lines: ["app;dur=abc"], app: null },
  { name: "negative dur", lines: ["app;dur=-1"], app: null },
  { name: "NaN", lines: ["app;dur=NaN"], app: null },
  { name: "Infinity", lines: ["app;dur=Infinity"], app: null },
  { name: "overflowing exponent", lines: ["app;dur=1e400"], app: null },
  { name: "exponent", lines: ["app;dur=1.5e1"], app: 15000 },
  { name: "zero", lines: ["app;dur=0"], app: 0 },
  // W3C: dur is read with HTML's "rules for parsing floating-point number values", which take
  // the number at the start and ignore what follows.
  { name: "unit suffix after the number", lines: ["app;dur=12.5ms"], app: 12500 },
  { name: "exponent marker without digits", lines: ["app;dur=2e"], app: 2000 },
  { name: "fraction point without digits", lines: ["app;dur=3."], app: 3000 },
  { name: "quoted desc with separators", lines: ['app;desc="a, b; c";dur=5'], app: 5000 },
  { name: "quoted dur", lines: ['app;dur="7.5"'], app: 7500 },
  { name: "name matched exactly (case)", lines: ["App;dur=5"], app: null },
  { name: "name matched exactly (prefix)", lines: ["application;dur=5, ap;dur=6"], app: null },
  { name: "first dur param counts", lines: ["app;dur=5;dur=9"], app: 5000 },
  { name: "first valid entry", lines: ["app;dur=-1, app;dur=8"], app: 8000 },
  { name: "optional whitespace", lines: ["cache;dur=1 ,  app ; dur = 2.5 "], app: 2500 },
  { name: "unterminated quote", lines: ['app;desc="oops, dur=3'], app: null },
  { name: "junk", lines: [";;;,,,=\"\\"], app: null },
  { name: "junk before the name: an unnamed entry", lines: ["\u00ff\u00fe app;dur=1"], app: null },
  { name: "junk entry then a good one", lines: ["\u00ff;dur=1, app;dur=1"], app: 1000 },
  { name: "huge header", lines: ["x;dur=1,".repeat(5000) + "app;dur=2"], app: 2000 },
  { name: "first header line only (Envoy's get_header_map_value)", lines: ["db;dur=1", "app;dur=2"], app: null },
];

test("Server-Timing parsing: friendly and hostile values", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    for (const c of serverTiming) {
      const b = await oneBatch(h, [{
        info: { clusterName: OUTBOUND }, requestHeaders: REQ,
        responseHeaders: [[":status", "200"], ...c.lines.map((l) => ["server-timing", l] as [string, string])],
        upstreamMs: 20,
      }]);
      const t = b.series[0]![2];
      if (c.app === null) {
        assert.equal(t[3], null, c.name);
        assert.equal(t[4], null, c.name);
      } else {
        assert.deepEqual(t[3], timing([c.app]), c.name);
        assert.deepEqual(t[4], timing([Math.max(0, 20000 - c.app)]), c.name);
      }
    }
    assert.equal(h.plugin.workers[0]!.failed, false);
  } finally {
    h.stop();
  }
});

test("app_timing_metric selects the metric", async () => {
  const h = await harness({ ...BASE_CONFIG, app_timing_metric: "backend-total" });
  try {
    const b = await oneBatch(h, [{
      info: { clusterName: OUTBOUND }, requestHeaders: REQ,
      responseHeaders: [[":status", "200"], ["server-timing", "app;dur=1, backend-total;dur=9"]], upstreamMs: 10,
    }]);
    assert.deepEqual(b.series[0]![2][3], timing([9000]));
    assert.deepEqual(b.series[0]![2][4], timing([1000]));
  } finally {
    h.stop();
  }
});

test("early response while the request is still uploading: upstream is measured from t0 whether or not the upload ends later", async () => {
  const cases: { name: string; uploadEndsAfterMs: number | null }[] = [
    { name: "upload ends after the response headers", uploadEndsAfterMs: 3 },
    { name: "upload never ends (reset)", uploadEndsAfterMs: null },
  ];
  for (const c of cases) {
    const h = await harness(BASE_CONFIG);
    try {
      const vm = h.plugin.workers[0]!;
      const s = vm.stream({ clusterName: OUTBOUND });
      s.requestHeaders(REQ, false);
      h.clock.advanceMs(5);
      s.responseHeaders([[":status", "413"]], false); // t2 = t0 + 5 ms, before the request ended
      if (c.uploadEndsAfterMs !== null) {
        h.clock.advanceMs(c.uploadEndsAfterMs);
        s.requestBody(new Uint8Array(4), true); // t1 > t2
      }
      h.clock.advanceMs(2);
      s.responseBody(new Uint8Array(4), true);
      s.log();
      s.done();
      const b = await oneBatch(h, []);
      const t = b.series[0]![2];
      const total = 5000 + (c.uploadEndsAfterMs ?? 0) * 1000 + 2000;
      assert.deepEqual(t[0], timing([total]), `${c.name}: request`);
      assert.deepEqual(t[1], timing([5000]), `${c.name}: upstream = t2 - t0`);
      assert.deepEqual(t[2], timing([total - 5000]), `${c.name}: proxy`);
    } finally {
      h.stop();
    }
  }
});

test("response headers read in one pass: any order, many headers, a map larger than the scratch arena", async () => {
  const cases: { name: string; headers: [string, string][]; code: string; app: number | null }[] = [
    { name: "server-timing before :status", headers: [["server-timing", "app;dur=4"], ["x-a", "1"], [":status", "201"]], code: "201", app: 4000 },
    { name: "no server-timing", headers: [[":status", "204"], ["content-type", "text/plain"]], code: "204", app: null },
    { name: "first of repeated server-timing, after other headers", headers: [[":status", "200"], ["x-b", "2"], ["server-timing", "db;dur=1, app;dur=6"], ["server-timing", "app;dur=9"]], code: "200", app: 6000 },
    { name: "100 KB of headers", headers: [[":status", "202"], ...Array.from({ length: 50 }, (_, i) => [`x-big-${i}`, "v".repeat(2000)] as [string, string]), ["server-timing", "app;dur=2"]], code: "202", app: 2000 },
  ];
  const h = await harness(BASE_CONFIG);
  try {
    for (const c of cases) {
      const b = await oneBatch(h, [{ info: { clusterName: OUTBOUND }, requestHeaders: REQ, responseHeaders: c.headers, upstreamMs: 10 }]);
      assert.equal(b.strings[b.series[0]![0][4]!], c.code, `${c.name}: response_code`);
      assert.deepEqual(b.series[0]![2][3], c.app === null ? null : timing([c.app]), `${c.name}: app`);
    }
    assert.equal(h.plugin.workers[0]!.failed, false);
  } finally {
    h.stop();
  }
});
