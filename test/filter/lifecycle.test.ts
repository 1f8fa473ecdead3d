// In-place configuration update (Envoy: new root context in the same VM, then proxy_on_done /
// proxy_on_delete on the old one — where the SDK's own proxy_on_done traps): the VM stays
// alive, traffic keeps flowing, the old root's last window is still delivered.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runRequest } from "../host/index.ts";
import { harness, labelsOf, BASE_CONFIG, OUTBOUND, REQ, RESP_200 } from "./helpers.ts";

const req = (tier: string) => ({
  info: { clusterName: OUTBOUND }, requestHeaders: [...REQ, ["x-user-tier", tier]] as [string, string][], responseHeaders: RESP_200,
});

test("configuration update in place: VM alive, traffic flowing, nothing lost", async () => {
  const h = await harness({ ...BASE_CONFIG, tiers: ["gold"] }, { workers: 2 });
  try {
    const [w0, w1] = h.plugin.workers as [typeof h.plugin.workers[0], typeof h.plugin.workers[0]];
    runRequest(w0!, h.clock, req("gold"));
    runRequest(w1!, h.clock, req("gold"));
    // a stream that spans the update
    const open = w0!.stream({ clusterName: OUTBOUND });
    open.requestHeaders([...REQ, ["x-user-tier", "silver"]], true);

    assert.equal(await h.plugin.reconfigure(JSON.stringify({ ...BASE_CONFIG, tiers: ["gold", "silver"], flush_interval_ms: 500 })), true);
    for (const vm of [h.plugin.main, ...h.plugin.workers]) assert.equal(vm.failed, false, `VM ${vm.id} alive`);

    open.responseHeaders(RESP_200, true);
    open.log();
    open.done();
    runRequest(w0!, h.clock, req("silver"));
    runRequest(w1!, h.clock, req("silver"));
    h.clock.advanceMs(500);
    await h.plugin.settle();
    h.clock.advanceMs(500);
    await h.plugin.settle();

    const batches = h.batches();
    // per worker: the old root's window (its own vm id, seq 1) and the new root's (new vm id, seq 1)
    const vmIds = new Set(batches.map((b) => b.vm));
    assert.equal(vmIds.size, 4, JSON.stringify(batches.map((b) => [b.vm, b.seq])));
    const all = batches.flatMap((b) => b.series.map((s) => ({ tier: labelsOf(b, s).user_tier, n: s[1], seq: b.seq })));
    const count = (t: string) => all.filter((x) => x.tier === t).reduce((a, x) => a + x.n, 0);
    assert.equal(count("gold"), 2, "windows of the old configuration delivered");
    assert.equal(count("silver"), 3, "new allow-list applies, including the stream that spanned the update");
    assert.ok(batches.every((b) => b.seq === 1));

    // and it keeps flowing
    runRequest(w0!, h.clock, req("gold"));
    h.clock.advanceMs(500);
    await h.plugin.settle();
    assert.equal(w0!.failed, false);
    assert.equal(h.batches().length, batches.length + 1);
  } finally {
    h.stop();
  }
});

test("a rejected configuration update keeps the running one", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    assert.equal(await h.plugin.reconfigure(JSON.stringify({ ...BASE_CONFIG, max_series: 1 })), false);
    const vm = h.plugin.workers[0]!;
    runRequest(vm, h.clock, req("free"));
    h.clock.advanceMs(1000);
    await h.plugin.settle();
    assert.equal(h.batches().length, 1);
    assert.equal(vm.failed, false);
  } finally {
    h.stop();
  }
});

test("every configure gets a fresh VM id; shutdown does not trap", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    const vm = h.plugin.workers[0]!;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      runRequest(vm, h.clock, req("free"));
      h.clock.advanceMs(1000);
      await h.plugin.settle();
      ids.push(h.batches().at(-1)!.vm);
      await h.plugin.reconfigure(JSON.stringify({ ...BASE_CONFIG, region_default: `r${i}` }));
    }
    assert.equal(new Set(ids).size, 3);
    h.plugin.stop();
    assert.equal(vm.failed, false);
    assert.ok(!vm.logs.some((l) => l.level === "error" || l.level === "critical"), JSON.stringify(vm.logs.filter((l) => l.level === "error")));
  } finally {
    h.stop();
  }
});

test("configure again on the same root context (same plugin key): the open window is not lost", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    const vm = h.plugin.workers[0]!;
    runRequest(vm, h.clock, req("free"));
    runRequest(vm, h.clock, req("gold"));
    // proxy-wasm-cpp-host src/wasm.cc WasmBase::start: a root context already running for the
    // plugin's key gets onStart + proxy_on_configure again (the host's reconfigure always makes
    // a new root, so the call is made here directly).
    const root = vm.liveRoot()!;
    root.configReadable = true;
    try {
      assert.equal(vm.invoke(root, vm.g.on_configure, "proxy_on_configure", root.configuration.length), 1);
    } finally {
      root.configReadable = false;
    }
    runRequest(vm, h.clock, req("free"));
    h.clock.advanceMs(1000);
    await h.plugin.settle();
    h.clock.advanceMs(1000);
    await h.plugin.settle();
    const total = h.batches().reduce((a, b) => a + b.series.reduce((x, s) => x + s[1], 0), 0);
    assert.equal(total, 3, JSON.stringify(h.batches().map((b) => [b.vm, b.seq, b.series.length])));
    assert.equal(vm.failed, false);
  } finally {
    h.stop();
  }
});
