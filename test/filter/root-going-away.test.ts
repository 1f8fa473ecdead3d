// What becomes of the last window and the buffered batches when the last root context of a
// plugin goes away. cpp-host keeps a root whose proxy_on_done answered false until it calls
// proxy_done — but only while its VM lives (src/wasm.cc startShutdown / done; ~WasmBase drops
// pending roots): so the filter sends what it holds and waits when only its plugin goes (the VM
// serves another plugin on the same code), and loses the open window plus the buffered batches
// when the VM itself goes (new module code, plugin removed) — the bound docs/wire-format.md states.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runRequest, type HttpCallResult } from "../host/index.ts";
import { BASE_CONFIG, OUTBOUND, REQ, RESP_200, decodeBatch, harness } from "./helpers.ts";

const spec = { info: { clusterName: OUTBOUND }, requestHeaders: REQ, responseHeaders: RESP_200 };

test("the plugin's last root goes while its VM lives: it sends the open window and the buffered batches, then proxy_done", async () => {
  const h = await harness({ ...BASE_CONFIG, max_buffered_batches: 4 });
  try {
    const vm = h.plugin.workers[0]!;
    const answers: ((r: HttpCallResult) => void)[] = [];
    let down = true;
    h.respond = () => (down ? { headers: [[":status", "503"]] } : new Promise<HttpCallResult>((r) => answers.push(r)) as never);
    for (let i = 0; i < 3; i++) {
      runRequest(vm, h.clock, spec);
      vm.tick(); // batches 1..3 fail and wait (backoff)
      await h.plugin.settle();
    }
    runRequest(vm, h.clock, spec); // the open window: request 4
    down = false;
    const before = h.posts.length;
    const root = vm.liveRoot()!;
    vm.shutdownRoot(root); // cpp-host ~PluginHandleBase -> WasmBase::startShutdown(plugin key)
    assert.equal(root.pendingDone, true, "proxy_on_done answered false: a POST is on the wire");
    // One POST at a time, oldest first; each answer sends the next. (settle() would wait for
    // the next POST's answer too, so the test yields to the event loop instead.)
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setImmediate(r));
      assert.equal(answers.length, 1, `post ${i + 1} on the wire`);
      answers.shift()!({ headers: [[":status", "204"]] });
    }
    await h.plugin.settle();
    assert.deepEqual(h.posts.slice(before).map((p) => decodeBatch(p.body).seq), [1, 2, 3, 4], "every batch, in order, with its own seq");
    assert.equal(root.deleted, true, "proxy_done after the last answer, then proxy_on_delete");
    assert.equal(vm.failed, false);
  } finally {
    h.stop();
  }
});

test("the last POST on the way out is tried once: a failure ends the wait (bounded)", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    const vm = h.plugin.workers[0]!;
    h.respond = () => ({ headers: [[":status", "503"]] });
    runRequest(vm, h.clock, spec);
    runRequest(vm, h.clock, { ...spec, info: { clusterName: "outbound|8080||other.shop.svc.cluster.local" } });
    const root = vm.liveRoot()!;
    vm.shutdownRoot(root);
    await h.plugin.settle();
    assert.equal(h.posts.length, 1, "one attempt, no retry");
    assert.equal(root.deleted, true, "proxy_done after the failed answer");
  } finally {
    h.stop();
  }
});

test("the VM itself goes away: the final POST is cancelled with the VM (the loss bound), nothing traps", async () => {
  const h = await harness({ ...BASE_CONFIG, max_buffered_batches: 2 });
  try {
    const vm = h.plugin.workers[0]!;
    const answers: ((r: HttpCallResult) => void)[] = [];
    h.respond = () => new Promise<HttpCallResult>((r) => answers.push(r)) as never;
    runRequest(vm, h.clock, spec);
    const before = h.posts.length;
    h.plugin.stop(); // every root's proxy_on_done, then ~WasmBase: pending roots dropped
    assert.equal(h.posts.length - before, 1, "the open window was put on the wire...");
    assert.equal(decodeBatch(h.posts.at(-1)!.body).series.length, 1);
    for (const a of answers) a({ headers: [[":status", "204"]] });
    await h.plugin.settle();
    assert.equal(vm.hostCalls.get("env.proxy_done") ?? 0, 0, "...and cancelled with the VM: no answer reached it, no proxy_done");
    assert.equal(vm.failed, false);
  } finally {
    h.stop();
  }
});
