// Envoy's lifecycle as the host reproduces it: VM layout, configure, stream callback order,
// header-pointer rules, rejected configuration, traps, ticks, reconfigure.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "./clock.ts";
import { HostError } from "./errors.ts";
import { startPlugin } from "./plugin.ts";
import { runRequest } from "./run-request.ts";
import { FilterStatus } from "./stream.ts";
import { fixture, messages, messagesSince, NODE } from "./test-support.ts";

test("VM layout: canary configures once and is discarded, main + one VM per worker", async () => {
  const p = await startPlugin({ module: await fixture("lifecycle"), configuration: "cfg-1", node: NODE, workers: 3 });
  assert.equal(p.accepted, true);
  assert.deepEqual(p.vms.map((v) => [v.id, v.role]), [[0, "canary"], [1, "main"], [2, "worker"], [3, "worker"], [4, "worker"]]);
  for (const vm of p.vms) {
    assert.deepEqual(messages(vm), ["module start", "vm_start 0", "configure cfg-1"], `vm ${vm.id}`);
  }
  assert.equal(p.canary.discarded, true);
  assert.throws(() => p.main.stream(), (e: HostError) => e.code === "HOST_ERR_BAD_OPTIONS");
  assert.throws(() => p.canary.stream(), (e: HostError) => e.code === "HOST_ERR_BAD_OPTIONS");
  // Separate linear memories: one VM's traffic does not touch another's.
  assert.notEqual(p.workers[0]!.g.memory, p.workers[1]!.g.memory);
  p.stop();
});

test("stream callbacks run in Envoy's order, log before done, delete right after", async () => {
  const clock = new ManualClock();
  const p = await startPlugin({ module: await fixture("lifecycle"), configuration: "", node: NODE, clock });
  const w = p.workers[0]!;
  const from = w.logs.length;
  runRequest(w, clock, {
    requestHeaders: [[":method", "GET"], [":path", "/"], ["x-user-tier", "gold"]],
    requestBody: "abc",
    requestTrailers: [["x-rt", "1"]],
    responseHeaders: [[":status", "200"]],
    responseBody: "xy",
    responseTrailers: [["x-st", "2"]],
  });
  assert.deepEqual(messagesSince(w, from), [
    "create 2",
    "request_headers 3 0 tier=0:gold",
    // request headers are gone once on_request_headers returned Continue: BAD_ARGUMENT (2)
    "request_body 3 0 tier=2:",
    "request_trailers 1 rt=0:1",
    "response_headers 1 0 tier=2: status=0:200",
    "response_body 2 0 status=2:",
    "response_trailers 1 st=0:2",
    // access-log copies: request headers, response headers and trailers; request trailers NOT_FOUND (1)
    "log tier=0:gold status=0:200 rt=1: st=0:2",
    "done",
    "delete",
  ]);
  p.stop();
});

test("a paused request keeps its headers readable; continue_stream is recorded", async () => {
  const p = await startPlugin({ module: await fixture("lifecycle"), configuration: "", node: NODE });
  const w = p.workers[0]!;
  const s = w.stream();
  const from = w.logs.length;
  const r = s.requestHeaders([["x-pause", "1"], ["x-user-tier", "silver"]], false);
  assert.equal(r, FilterStatus.StopAllIterationAndWatermark, "Pause on headers is converted as Envoy does");
  s.requestBody(new Uint8Array(2), true);
  assert.match(messagesSince(w, from).at(-1)!, /^request_body 2 1 tier=0:silver$/);
  s.end();
  p.stop();
});

test("proxy_send_local_response: recorded for the sidecar, and the stream stops even though the filter said Continue", async () => {
  const p = await startPlugin({ module: await fixture("lifecycle"), configuration: "", node: NODE });
  const w = p.workers[0]!;
  const s = w.stream();
  const from = w.logs.length;
  assert.equal(s.requestHeaders([["x-deny", "1"]], true), FilterStatus.StopAllIterationAndWatermark);
  assert.equal(messagesSince(w, from).at(-1), "local_response 0");
  assert.equal(s.localReply?.status, 403);
  assert.equal(s.localReply?.details, "denied_by_test", "spaces replaced as Envoy does");
  assert.equal(Buffer.from(s.localReply!.body).toString(), "no");
  assert.deepEqual(s.localReply?.headers, [["x-why", "test"]]);
  // The flag is per callback: the next stream is not affected.
  const s2 = w.stream();
  assert.equal(s2.requestHeaders([[":path", "/"]], true), FilterStatus.Continue);
  s.end();
  s2.end();
  p.stop();
});

test("stream phases after log/done are refused", async () => {
  const p = await startPlugin({ module: await fixture("lifecycle"), configuration: "", node: NODE });
  const s = p.workers[0]!.stream();
  s.requestHeaders([[":path", "/"]], true);
  s.log();
  assert.throws(() => s.responseHeaders([[":status", "200"]], true), (e: HostError) => e.code === "HOST_ERR_STREAM_ORDER");
  s.done();
  assert.throws(() => s.requestBody(new Uint8Array(1), true), (e: HostError) => e.code === "HOST_ERR_STREAM_ORDER");
  p.stop();
});

test("a local reply that never reached the filter still gets create + log + done + delete", async () => {
  const p = await startPlugin({ module: await fixture("lifecycle"), configuration: "", node: NODE });
  const w = p.workers[0]!;
  const from = w.logs.length;
  const s = w.stream();
  s.responseHeaders([[":status", "403"]], true); // e.g. RBAC denied before the filter
  s.log([["x-user-tier", "gold"]]); // the access log still has the request headers
  s.done();
  const s2 = w.stream();
  s2.end(); // no headers at all: maps missing in on_log are NOT_FOUND (1)
  assert.deepEqual(messagesSince(w, from), [
    "create 2",
    "log tier=0:gold status=0:403 rt=1: st=1:",
    "done",
    "delete",
    "create 3",
    "log tier=1: status=1: rt=1: st=1:",
    "done",
    "delete",
  ]);
  p.stop();
});

test("a configuration rejected by proxy_on_configure rejects the plugin", async () => {
  const p = await startPlugin({ module: await fixture("lifecycle"), configuration: "reject", node: NODE });
  assert.equal(p.accepted, false);
  assert.deepEqual(messages(p.canary), ["module start", "vm_start 0", "configure reject"]);
  // cpp-host WasmHandleBase::canary reports this message; a refusal is not a trap
  assert.equal(p.canary.refused, "Failed to configure base Wasm plugin");
  assert.equal(p.canary.failed, false);
  // Nothing else of the plugin ran.
  assert.deepEqual(messages(p.main), []);
  assert.deepEqual(messages(p.workers[0]!), []);
  assert.throws(() => p.workers[0]!.stream(), HostError);
});

test("a trap inside a callback fails the VM, is logged, and the host carries on (fail open)", async () => {
  const p = await startPlugin({ module: await fixture("lifecycle"), configuration: "", node: NODE });
  const [w0, w1] = p.workers as [typeof p.workers[0], typeof p.workers[0]];
  const s = w0!.stream();
  const r = s.requestHeaders([["x-trap", "1"]], true);
  assert.equal(r, FilterStatus.Continue, "fail-open lets the request through");
  assert.equal(w0!.failed, true);
  assert.match(w0!.failure!.message, /unreachable/);
  const report = w0!.logs.find((l) => l.source === "host" && l.level === "error");
  assert.match(report!.message, /^Function: proxy_on_request_headers failed: .*unreachable/);
  // Later calls on the failed VM do not reach the guest.
  const before = w0!.logs.length;
  s.responseHeaders([[":status", "200"]], true);
  s.end();
  assert.equal(w0!.logs.length, before);
  // Other VMs are unaffected.
  const from = w1!.logs.length;
  w1!.stream().requestHeaders([[":path", "/"]], true);
  assert.deepEqual(messagesSince(w1!, from).slice(0, 1), ["create 2"]);
  p.stop();
});

test("fail closed: a failed VM answers 503 wasm_fail_stream", async () => {
  const p = await startPlugin({ module: await fixture("lifecycle"), configuration: "", node: NODE, failStrategy: "FAIL_CLOSE" });
  const w = p.workers[0]!;
  const s1 = w.stream();
  assert.equal(s1.requestHeaders([["x-trap", "1"]], true), FilterStatus.StopAllIterationAndWatermark);
  assert.equal(s1.localReply?.status, 503);
  assert.equal(s1.localReply?.details, "wasm_fail_stream");
  const s2 = w.stream();
  s2.requestHeaders([[":path", "/"]], true);
  assert.equal(s2.localReply?.status, 503);
  p.stop();
});

test("ticks are driven by the ManualClock on the main and worker VMs, not the canary", async () => {
  const clock = new ManualClock({ monoNs: 0n });
  const p = await startPlugin({ module: await fixture("lifecycle"), configuration: "tick:1000", node: NODE, clock, workers: 2 });
  const marks = p.vms.map((v) => v.logs.length);
  clock.advanceMs(999);
  for (const [i, vm] of p.vms.entries()) assert.deepEqual(messagesSince(vm, marks[i]!), [], `no tick before the period on vm ${vm.id}`);
  clock.advanceMs(2001);
  assert.deepEqual(messagesSince(p.canary, marks[0]!), []);
  for (const [i, vm] of p.vms.entries()) {
    if (vm.role === "canary") continue;
    // The monotonic clock reads exactly the due time inside each tick.
    assert.deepEqual(messagesSince(vm, marks[i]!), ["tick 1000", "tick 2000", "tick 3000"], `vm ${vm.id}`);
  }
  p.stop();
  assert.equal(clock.pendingTimers(), 0, "stop cancels the tick timers");
});

test("reconfigure: new root context in every VM, old root shut down (the SDK's root on_done trap is reported)", async () => {
  const p = await startPlugin({ module: await fixture("lifecycle"), configuration: "cfg-1", node: NODE });
  const w = p.workers[0]!;
  const from = w.logs.length;
  assert.equal(await p.reconfigure("cfg-2"), true);
  // @gcoredev/proxy-wasm-sdk-as looks the root up in its stream map in proxy_on_done and
  // aborts (message on stderr -> error level), which traps and fails the VM.
  assert.deepEqual(messagesSince(w, from), ["vm_start 0", "configure cfg-2", "abort: Key does not exist in ~lib/map.ts(105:17)"]);
  assert.equal(w.logs.find((l) => l.message.startsWith("abort:"))?.source, "stderr");
  assert.deepEqual(messages(p.canary), ["module start", "vm_start 0", "configure cfg-2"], "a new canary validated cfg-2");
  assert.equal(w.failed, true);
  assert.match(w.logs.at(-1)!.message, /^Function: proxy_on_done failed/);
  assert.equal(await p.reconfigure("reject"), false);
  const rejectingCanary = p.canary;
  assert.equal(await p.reconfigure("reject"), false);
  assert.equal(p.canary, rejectingCanary, "the canary's verdict is cached per configuration (plugin_canary_cache_)");
  p.stop();
});

test("a root whose proxy_on_done returns false keeps ticking and gets its http call answer until it calls proxy_done", async () => {
  // cpp-host src/wasm.cc startShutdown / done: such a root waits in pending_done_ — still in the
  // VM's contexts, so envoy wasm.cc tickHandler still ticks it and its in-flight calls complete;
  // only its deletion (~Context) cancels what is left.
  const cluster = "outbound|9464||agg.istio-system.svc.cluster.local";
  const clock = new ManualClock({ monoNs: 0n });
  const answers: (() => void)[] = [];
  const p = await startPlugin({
    module: await fixture("done-later"),
    configuration: `${cluster};1`,
    node: NODE,
    clock,
    workers: 1,
    clusters: { [cluster]: () => new Promise((r) => answers.push(() => r({ headers: [[":status", "204"]] }))) },
  });
  const w = p.workers[0]!;
  const from = w.logs.length;
  clock.advanceMs(1000);
  assert.equal(await p.reconfigure(`${cluster};2`), true);
  clock.advanceMs(1000);
  for (const a of answers.splice(0)) a();
  await p.settle();
  clock.advanceMs(1000);
  assert.deepEqual(messagesSince(w, from), [
    "tick 1 call=0 token=4",
    "done 1 waiting",
    "tick 1 busy", // the old root still ticks while it waits
    "tick 2 call=0 token=8",
    "response 1 token=4 proxy_done=0",
    "delete 1",
    "response 2 token=8",
    "tick 2 call=0 token=12", // root 1 is gone: no more ticks for it
  ]);
  p.stop();
  assert.equal(clock.pendingTimers(), 0, "stop cancels ticks and call timeouts");
});

test("reconfigure with the configuration already running reuses the root contexts: no callbacks at all", async () => {
  // cpp-host src/wasm.cc: the plugin key includes the configuration, so the canary verdict is
  // cached and getOrCreateThreadLocalPlugin finds the live thread-local plugin for that key.
  const p = await startPlugin({ module: await fixture("lifecycle"), configuration: "cfg-1", node: NODE });
  const marks = p.vms.map((v) => v.logs.length);
  const roots = [p.main, ...p.workers].map((v) => v.liveRoot());
  assert.equal(await p.reconfigure("cfg-1"), true);
  for (const [i, vm] of p.vms.entries()) assert.deepEqual(vm.logs.slice(marks[i]!), [], `vm ${vm.id}`);
  assert.deepEqual([p.main, ...p.workers].map((v) => v.liveRoot()), roots);
  p.stop();
});

test("runRequest: a local reply from the request phase is what the filter's response phase sees; the upstream exchange never happens", async () => {
  // envoy source/common/http/filter_manager.cc sendLocalReply: the decoder chain is aborted and
  // the reply is encoded through the filter chain, this filter included (envoy
  // source/extensions/common/wasm/context.cc encodeHeaders); then the access log and onDestroy.
  const clock = new ManualClock();
  const p = await startPlugin({ module: await fixture("lifecycle"), configuration: "", node: NODE, clock });
  const w = p.workers[0]!;
  const from = w.logs.length;
  const s = runRequest(w, clock, {
    requestHeaders: [[":path", "/"], ["x-deny", "1"], ["x-user-tier", "gold"]],
    requestBody: "abc",
    responseHeaders: [[":status", "200"]],
    responseBody: "from upstream",
  });
  assert.deepEqual(messagesSince(w, from), [
    "create 2",
    "request_headers 3 0 tier=0:gold",
    "local_response 0",
    // on_request_headers ended with a stop status, so Envoy still holds the request headers
    "response_headers 4 0 tier=0:gold status=0:403",
    "response_body 2 1 status=2:",
    "log tier=0:gold status=0:403 rt=1: st=1:",
    "done",
    "delete",
  ]);
  assert.deepEqual(s.responseHeadersOut, [[":status", "403"], ["x-why", "test"], ["content-length", "2"], ["content-type", "text/plain"]]);
  assert.equal(Buffer.from(s.responseBodyOut).toString(), "no");
  p.stop();
});

test("when the VM itself goes away, a root whose proxy_on_done returned false is dropped: its call is cancelled, no proxy_on_delete", async () => {
  // cpp-host include/proxy-wasm/wasm.h ~WasmHandleBase -> WasmBase::startShutdown moves such a
  // root to pending_done_, but nothing else holds the WasmBase: ~WasmBase clears pending_done_
  // (src/wasm.cc) without onDelete, envoy context.cc ~Context cancels its http calls, and the
  // tick timer only holds a weak_ptr (envoy wasm.cc setTimerPeriod). Envoy keeps a waiting root
  // alive only while its VM lives, i.e. for a new plugin configuration on the same code.
  const cluster = "outbound|9464||agg.istio-system.svc.cluster.local";
  const clock = new ManualClock({ monoNs: 0n });
  const answers: (() => void)[] = [];
  const p = await startPlugin({
    module: await fixture("done-later"),
    configuration: `${cluster};1`,
    node: NODE,
    clock,
    workers: 1,
    clusters: { [cluster]: () => new Promise((r) => answers.push(() => r({ headers: [[":status", "204"]] }))) },
  });
  const w = p.workers[0]!;
  const from = w.logs.length;
  clock.advanceMs(1000);
  p.stop(); // the plugin (and with it every VM) goes away
  for (const a of answers.splice(0)) a();
  await p.settle();
  clock.advanceMs(5000);
  assert.deepEqual(messagesSince(w, from), ["tick 1 call=0 token=4", "done 1 waiting"], "no response, no proxy_done, no delete");
  assert.equal(clock.pendingTimers(), 0);
});
