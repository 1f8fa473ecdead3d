// proxy_http_call as Envoy answers it: argument checks, tokens, delivery to the root context
// with the response readable only inside the callback, reset, timeout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "./clock.ts";
import { startPlugin } from "./plugin.ts";
import type { HttpCallHandler, HttpCallRequest } from "./types.ts";
import { fixture, messagesSince, NODE } from "./test-support.ts";

const CLUSTER = "outbound|9464||meshlat-aggregator.istio-system.svc.cluster.local";

async function setup(config: string, handler: HttpCallHandler) {
  const clock = new ManualClock();
  const p = await startPlugin({ module: await fixture("httpcall"), configuration: config, node: NODE, clock, workers: 1, clusters: { [CLUSTER]: handler } });
  const w = p.workers[0]!;
  return { p, w, clock, from: w.logs.length };
}

test("http call round trip: request as the handler sees it, response inside the callback", async () => {
  const seen: HttpCallRequest[] = [];
  const { p, w, clock, from } = await setup(`${CLUSTER};5000;aggregator`, async (req) => {
    seen.push(req);
    return { headers: [[":status", "204"], ["x-a", "1"]], body: "ok!", trailers: [["x-t", "tt"]] };
  });
  clock.advanceMs(1000);
  await p.settle();
  assert.equal(seen.length, 2, "main VM and worker VM both tick and call");
  const req = seen[0]!;
  assert.equal(req.cluster, CLUSTER);
  assert.equal(req.timeoutMs, 5000);
  assert.equal(Buffer.from(req.body).toString(), "batch");
  assert.deepEqual(req.headers, [
    [":method", "POST"],
    [":path", "/v1/batches"],
    [":authority", "aggregator"],
    ["content-type", "application/msgpack"],
    ["content-length", "5"],
  ]);
  assert.deepEqual(messagesSince(w, from), [
    "call 0 token=4",
    "response token=4 headers=2 body=3 trailers=1 status=0:204 text=0:ok! trailer=0:tt getstatus=0:",
  ]);
  clock.advanceMs(1000);
  await p.settle();
  assert.match(messagesSince(w, from).at(-1)!, /^response token=8 /, "tokens advance by 4 (Envoy's callout id increment)");
  assert.equal(clock.pendingTimers(), 2, "answered calls' timeout timers are cancelled; only the ticks (main + worker) remain");
  p.stop();
});

test("http call argument errors are BAD_ARGUMENT with no callback", async () => {
  const cases: [name: string, config: string, status: number][] = [
    ["unknown cluster", "outbound|1||nope;1000;aggregator", 2],
    ["missing :authority", `${CLUSTER};1000;`, 2],
    ["negative timeout (u32 above 2^31)", `${CLUSTER};-5;aggregator`, 2],
  ];
  for (const [name, config, status] of cases) {
    let calls = 0;
    const { p, w, clock, from } = await setup(config, () => {
      calls++;
      return { headers: [[":status", "200"]] };
    });
    clock.advanceMs(1000);
    await p.settle();
    assert.deepEqual(messagesSince(w, from), [`call ${status} token=0`], name);
    assert.equal(calls, 0, name);
    p.stop();
  }
});

test("http call reset: callback with 0 headers, 0 body, 0 trailers and status BrokenConnection 'reset'", async () => {
  for (const handler of [() => ({ reset: true as const }), () => Promise.reject(new Error("ECONNREFUSED"))]) {
    const { p, w, clock, from } = await setup(`${CLUSTER};1000;aggregator`, handler);
    clock.advanceMs(1000);
    await p.settle();
    assert.deepEqual(messagesSince(w, from), [
      "call 0 token=4",
      "response token=4 headers=0 body=0 trailers=0 status=2: text=1: trailer=2: getstatus=11:reset",
    ]);
    p.stop();
  }
});

test("http call timeout: Envoy's async client answers 504 at exactly the timeout", async () => {
  let release: () => void = () => {};
  const { p, w, clock, from } = await setup(`${CLUSTER};250;aggregator`, () => new Promise((r) => (release = () => r({ headers: [[":status", "200"]] }))));
  clock.advanceMs(1000);
  assert.deepEqual(messagesSince(w, from), ["call 0 token=4"]);
  clock.advanceMs(249);
  assert.deepEqual(messagesSince(w, from), ["call 0 token=4"], "not before the timeout");
  clock.advanceMs(1);
  assert.deepEqual(messagesSince(w, from), [
    "call 0 token=4",
    "response token=4 headers=3 body=24 trailers=0 status=0:504 text=0:upstream request timeout trailer=2: getstatus=0:",
  ]);
  release(); // a late answer is dropped
  await p.settle();
  assert.equal(messagesSince(w, from).length, 2);
  p.stop();
});

test("pending http calls are cancelled when the root context goes away (stop): no callback, settle returns", async () => {
  let answer: () => void = () => {};
  const { p, w, clock, from } = await setup(`${CLUSTER};5000;aggregator`, () => new Promise((r) => (answer = () => r({ headers: [[":status", "200"]] }))));
  clock.advanceMs(1000);
  p.stop();
  answer();
  await p.settle();
  // (the SDK's root proxy_on_done aborts during stop; see lifecycle.test.ts)
  assert.deepEqual(messagesSince(w, from).filter((m) => !m.startsWith("abort:")), ["call 0 token=4"]);
  assert.equal(clock.pendingTimers(), 0, "timeout and tick timers cancelled");
});

test("no healthy endpoint / overflow: INTERNAL_FAILURE at once, token 0, and no callback ever (not even a timeout)", async () => {
  // envoy source/common/http/async_client_impl.cc internalStartRequest returns null when the
  // router answered inline; source/extensions/common/wasm/context.cc httpCall then erases the
  // token and returns InternalFailure, so the deferred inline 503 finds no handler.
  for (const reason of ["no_healthy_upstream", "overflow"] as const) {
    const { p, w, clock, from } = await setup(`${CLUSTER};250;aggregator`, () => ({ unavailable: reason }));
    clock.advanceMs(1000);
    await p.settle();
    assert.deepEqual(messagesSince(w, from), ["call 10 token=0"], reason);
    clock.advanceMs(1000); // past the 250 ms timeout of the first call, and a second tick
    await p.settle();
    assert.deepEqual(messagesSince(w, from), ["call 10 token=0", "call 10 token=0"], `${reason}: never a callback`);
    assert.equal(clock.pendingTimers(), 2, "no timeout timer was armed: only the ticks (main + worker) remain");
    p.stop();
  }
});

test("a refused call still uses up its token (Envoy takes nextHttpCallId before send)", async () => {
  let n = 0;
  const { p, w, clock, from } = await setup(`${CLUSTER};1000;aggregator`, () =>
    n++ < 2 ? { unavailable: "no_healthy_upstream" as const } : { headers: [[":status", "204"]] },
  );
  clock.advanceMs(2000); // first tick of main and worker refused, second tick answered
  await p.settle();
  assert.deepEqual(messagesSince(w, from), [
    "call 10 token=0",
    "call 0 token=8",
    "response token=8 headers=1 body=0 trailers=0 status=0:204 text=0: trailer=2: getstatus=0:",
  ]);
  p.stop();
});

test("unavailable known only after the request started: the router's 503 local reply through the callback", async () => {
  const { p, w, clock, from } = await setup(`${CLUSTER};1000;aggregator`, async () => ({ unavailable: "overflow" as const }));
  clock.advanceMs(1000);
  await p.settle();
  assert.match(messagesSince(w, from).at(-1)!, /^response token=4 headers=3 body=\d+ trailers=0 status=0:503 text=0:upstream connect error/);
  p.stop();
});
