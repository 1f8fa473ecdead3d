// Host functions called directly on a real VM (the hello fixture's instance and allocator):
// WASI clocks, fd_write, environ, random; proxy_log levels; memory protocol; counters;
// metrics; shared data; out-of-bounds pointers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Status, Errno } from "./abi.ts";
import { ManualClock } from "./clock.ts";
import { buildImports } from "./imports.ts";
import { startPlugin } from "./plugin.ts";
import { fixture, messages, NODE } from "./test-support.ts";
import type { Vm } from "./vm.ts";

type Fn = (...a: any[]) => any;

async function setup(extra: Record<string, unknown> = {}) {
  const clock = new ManualClock({ monoNs: 7n, wallNs: 1_000_000_007n });
  const p = await startPlugin({ module: await fixture("hello"), configuration: "", node: NODE, clock, env: { A: "1", BB: "xy" }, ...extra });
  const vm = p.workers[0]!;
  const imp = buildImports(vm) as unknown as Record<string, Record<string, Fn>>;
  // Host calls act on the current context; use the VM's root as a callback would.
  vm.current = vm.liveRoot();
  const scratch = vm.g.malloc(256) >>> 0;
  vm.refresh();
  return { p, vm, imp, clock, scratch };
}

const writeStr = (vm: Vm, at: number, s: string) => {
  vm.refresh();
  vm.nodeBuf.write(s, at, "utf8");
  return Buffer.byteLength(s);
};

test("WASI clock_time_get: 0 wall, 1 monotonic, others ENOTSUP", async () => {
  const { vm, imp, clock, scratch } = await setup();
  const w = imp.wasi_snapshot_preview1!;
  clock.advanceNs(100n);
  assert.equal(w.clock_time_get!(0, 0n, scratch), Errno.SUCCESS);
  assert.equal(vm.dv.getBigUint64(scratch, true), 1_000_000_107n);
  assert.equal(w.clock_time_get!(1, 0n, scratch), Errno.SUCCESS);
  assert.equal(vm.dv.getBigUint64(scratch, true), 107n);
  assert.equal(w.clock_time_get!(2, 0n, scratch), Errno.NOTSUP);
  assert.equal(imp.env!.proxy_get_current_time_nanoseconds!(scratch), Status.OK);
  assert.equal(vm.dv.getBigUint64(scratch, true), 1_000_000_107n, "proxy_get_current_time_nanoseconds is the wall clock");
  assert.equal(w.clock_time_get!(1, 0n, 0xfffffff0), Errno.FAULT);
});

test("WASI fd_write: fd 1 info, fd 2 error, trailing newline dropped, other fds EBADF", async () => {
  const { vm, imp, scratch } = await setup();
  const w = imp.wasi_unstable!;
  const n = writeStr(vm, scratch + 64, "hello\n");
  vm.dv.setUint32(scratch, scratch + 64, true);
  vm.dv.setUint32(scratch + 4, n, true);
  vm.logs.length = 0;
  assert.equal(w.fd_write!(1, scratch, 1, scratch + 8), Errno.SUCCESS);
  assert.equal(vm.dv.getUint32(scratch + 8, true), 6);
  assert.equal(w.fd_write!(2, scratch, 1, scratch + 8), Errno.SUCCESS);
  assert.equal(w.fd_write!(3, scratch, 1, scratch + 8), Errno.BADF);
  assert.deepEqual(vm.logs.map((l) => [l.level, l.source, l.message]), [
    ["info", "stdout", "hello"],
    ["error", "stderr", "hello"],
  ]);
  assert.equal(vm.hostCalls.get("wasi_unstable.fd_write"), 3, "calls are counted per module.name");
});

test("proxy_log levels against the configured level; proxy_get_log_level", async () => {
  const { vm, imp, scratch } = await setup({ logLevel: "warn" });
  const n = writeStr(vm, scratch, "msg");
  vm.logs.length = 0;
  const e = imp.env!;
  assert.equal(e.proxy_log!(2, scratch, n), Status.OK); // info: below warn, dropped
  assert.equal(e.proxy_log!(3, scratch, n), Status.OK);
  assert.equal(e.proxy_log!(5, scratch, n), Status.OK);
  assert.equal(e.proxy_log!(6, scratch, n), Status.BAD_ARGUMENT);
  // exports.cc log reads the message before Context::log filters by level
  assert.equal(e.proxy_log!(2, 0xfffffff0, 100), Status.INVALID_MEMORY_ACCESS);
  assert.deepEqual(vm.logs.map((l) => l.level), ["warn", "critical"]);
  assert.equal(e.proxy_get_log_level!(scratch + 16), Status.OK);
  assert.equal(vm.dv.getUint32(scratch + 16, true), 3);
});

test("WASI environ exposes the configured env only; random_get fills and is capped at 64 KiB", async () => {
  const { vm, imp, scratch } = await setup();
  const w = imp.wasi_snapshot_preview1!;
  assert.equal(w.environ_sizes_get!(scratch, scratch + 4), Errno.SUCCESS);
  assert.deepEqual([vm.dv.getUint32(scratch, true), vm.dv.getUint32(scratch + 4, true)], [2, "A=1\0BB=xy\0".length]);
  assert.equal(w.environ_get!(scratch, scratch + 16), Errno.SUCCESS);
  assert.equal(vm.dv.getUint32(scratch, true), scratch + 16);
  assert.equal(vm.dv.getUint32(scratch + 4, true), scratch + 20);
  assert.equal(vm.nodeBuf.toString("utf8", scratch + 16, scratch + 26), "A=1\0BB=xy\0");
  vm.u8.fill(0, scratch + 64, scratch + 96);
  assert.equal(w.random_get!(scratch + 64, 32), Errno.SUCCESS);
  assert.ok(vm.u8.subarray(scratch + 64, scratch + 96).some((x) => x !== 0));
  assert.equal(w.random_get!(scratch, 64 * 1024 + 1), Errno.INVAL);
});

test("memory protocol: results are malloc'd in the guest; empty results are ptr 0 size 0", async () => {
  const { vm, imp, scratch } = await setup({ vmConfiguration: "vmcfg" });
  const e = imp.env!;
  assert.equal(e.proxy_get_buffer_bytes!(6, 0, 100, scratch, scratch + 4), Status.OK);
  const ptr = vm.dv.getUint32(scratch, true);
  const size = vm.dv.getUint32(scratch + 4, true);
  assert.ok(ptr !== 0 && ptr !== scratch);
  assert.equal(vm.nodeBuf.toString("utf8", ptr, ptr + size), "vmcfg");
  assert.equal(e.proxy_get_buffer_bytes!(7, 0, 100, scratch, scratch + 4), Status.NOT_FOUND, "plugin config outside configure");
  // Nothing to copy (start at/after the end, or length 0): exports.cc get_buffer_bytes still
  // writes ptr 0 / size 0, so a filter never reads a stale pointer.
  for (const [start, length] of [[5, 10], [9, 1], [0, 0]] as const) {
    vm.dv.setUint32(scratch, 77, true);
    vm.dv.setUint32(scratch + 4, 77, true);
    assert.equal(e.proxy_get_buffer_bytes!(6, start, length, scratch, scratch + 4), Status.OK);
    assert.deepEqual([vm.dv.getUint32(scratch, true), vm.dv.getUint32(scratch + 4, true)], [0, 0], `start ${start} length ${length}`);
  }
  const n = writeStr(vm, scratch + 32, "plugin_vm_id");
  vm.dv.setUint32(scratch, 77, true);
  assert.equal(e.proxy_get_property!(scratch + 32, n, scratch, scratch + 4), Status.OK);
  assert.deepEqual([vm.dv.getUint32(scratch, true), vm.dv.getUint32(scratch + 4, true)], [0, 0], "empty string: no malloc");
  assert.equal(e.proxy_get_property!(0xfffffff0, 100, scratch, scratch + 4), Status.INVALID_MEMORY_ACCESS);
  assert.equal(e.proxy_get_header_map_value!(9, scratch, 1, scratch, scratch + 4), Status.BAD_ARGUMENT, "map type > 7");
  assert.equal(e.proxy_get_header_map_value!(0, scratch, 1, scratch, scratch + 4), Status.BAD_ARGUMENT, "no stream on a root context");
  assert.ok(vm.memoryBytes() >= 65536);
});

test("metrics: typed ids, counter/gauge/histogram rules, one stat per name across VMs", async () => {
  const { p, vm, imp, scratch } = await setup();
  const e = imp.env!;
  const n = writeStr(vm, scratch + 64, "reqs");
  assert.equal(e.proxy_define_metric!(0, scratch + 64, n, scratch), Status.OK);
  const counter = vm.dv.getUint32(scratch, true);
  assert.equal(counter & 3, 0);
  const g = writeStr(vm, scratch + 96, "inflight");
  assert.equal(e.proxy_define_metric!(1, scratch + 96, g, scratch), Status.OK);
  const gauge = vm.dv.getUint32(scratch, true);
  assert.equal(gauge & 3, 1);
  const h = writeStr(vm, scratch + 128, "lat");
  assert.equal(e.proxy_define_metric!(2, scratch + 128, h, scratch), Status.OK);
  const hist = vm.dv.getUint32(scratch, true);
  assert.equal(e.proxy_define_metric!(3, scratch + 128, h, scratch), Status.BAD_ARGUMENT);
  const cases: [string, () => number, number][] = [
    ["counter +2", () => e.proxy_increment_metric!(counter, 2n), Status.OK],
    ["counter +0", () => e.proxy_increment_metric!(counter, 0n), Status.BAD_ARGUMENT],
    ["counter -1", () => e.proxy_increment_metric!(counter, -1n), Status.BAD_ARGUMENT],
    ["counter record adds", () => e.proxy_record_metric!(counter, 3n), Status.OK],
    ["gauge -4", () => e.proxy_increment_metric!(gauge, -4n), Status.OK],
    ["gauge record sets", () => e.proxy_record_metric!(gauge, 9n), Status.OK],
    ["histogram increment", () => e.proxy_increment_metric!(hist, 1n), Status.BAD_ARGUMENT],
    ["histogram record", () => e.proxy_record_metric!(hist, 12n), Status.OK],
    ["histogram get", () => e.proxy_get_metric!(hist, scratch), Status.BAD_ARGUMENT],
    ["unknown id", () => e.proxy_get_metric!(400, scratch), Status.NOT_FOUND],
  ];
  for (const [name, call, want] of cases) assert.equal(call(), want, name);
  assert.equal(e.proxy_get_metric!(counter, scratch), Status.OK);
  assert.equal(vm.dv.getBigUint64(scratch, true), 5n);
  assert.equal(p.workers[1]!.metrics.get("reqs")?.value, 5n, "stats are shared by all VMs of the plugin");
  assert.deepEqual(vm.metrics.get("lat")?.samples, [12n]);
  assert.equal(vm.metrics.get("inflight")?.value, 9n);
});

test("shared data: CAS semantics; shared queue: EMPTY, NOT_FOUND", async () => {
  const { vm, imp, scratch } = await setup();
  const e = imp.env!;
  const k = writeStr(vm, scratch + 100, "key");
  const v = writeStr(vm, scratch + 120, "val");
  assert.equal(e.proxy_get_shared_data!(scratch + 100, k, scratch, scratch + 4, scratch + 8), Status.NOT_FOUND);
  assert.equal(e.proxy_set_shared_data!(scratch + 100, k, scratch + 120, v, 0), Status.OK);
  assert.equal(e.proxy_get_shared_data!(scratch + 100, k, scratch, scratch + 4, scratch + 8), Status.OK);
  const cas = vm.dv.getUint32(scratch + 8, true);
  assert.equal(e.proxy_set_shared_data!(scratch + 100, k, scratch + 120, v, cas + 1), Status.CAS_MISMATCH);
  assert.equal(e.proxy_set_shared_data!(scratch + 100, k, scratch + 120, v, cas), Status.OK);
  const q = writeStr(vm, scratch + 140, "q");
  assert.equal(e.proxy_dequeue_shared_queue!(1, scratch, scratch + 4), Status.NOT_FOUND);
  assert.equal(e.proxy_register_shared_queue!(scratch + 140, q, scratch + 8), Status.OK);
  const token = vm.dv.getUint32(scratch + 8, true);
  assert.equal(e.proxy_dequeue_shared_queue!(token, scratch, scratch + 4), Status.EMPTY);
  assert.equal(e.proxy_enqueue_shared_queue!(token, scratch + 120, v), Status.OK);
  assert.equal(e.proxy_dequeue_shared_queue!(token, scratch, scratch + 4), Status.OK);
  assert.equal(vm.dv.getUint32(scratch + 4, true), 3);
});

test("proxy_get_status reads the root context's status, also from a stream context (exports.cc get_status)", async () => {
  const { vm, imp, scratch } = await setup();
  const root = vm.liveRoot()!;
  root.statusCode = 11;
  root.statusMessage = "reset";
  const s = vm.stream();
  for (const [name, ctx] of [["root", root], ["stream", s.ctx]] as const) {
    vm.current = ctx;
    assert.equal(imp.env!.proxy_get_status!(scratch + 8, scratch, scratch + 4), Status.OK, name);
    const ptr = vm.dv.getUint32(scratch, true);
    const size = vm.dv.getUint32(scratch + 4, true);
    assert.deepEqual([vm.dv.getUint32(scratch + 8, true), vm.nodeBuf.toString("utf8", ptr, ptr + size)], [11, "reset"], name);
  }
});

test("while the host runs the guest's malloc only proxy_log, fd_write and clock_time_get may be called", async () => {
  // cpp-host include/proxy-wasm/wasm.h allocMemory: setRestrictedCallback(true, {proxy_log,
  // fd_write, clock_time_get}) around malloc_; src/v8/v8.cc traps anything else.
  const clock = new ManualClock();
  const ok = await startPlugin({ module: await fixture("malloc-calls"), configuration: "allowed", node: NODE, clock, workers: 1 });
  clock.advanceMs(1000);
  const w = ok.workers[0]!;
  assert.equal(w.failed, false);
  assert.ok(messages(w).some((m) => m.startsWith("malloc ")), "malloc ran and logged");
  assert.ok(messages(w).some((m) => m.startsWith("node_id 0:")), "the property read completed");
  ok.stop();

  const bad = await startPlugin({ module: await fixture("malloc-calls"), configuration: "forbidden", node: NODE, clock, workers: 1 });
  clock.advanceMs(1000);
  const v = bad.workers[0]!;
  assert.equal(v.failed, true, "a forbidden host call inside malloc traps and fails the VM");
  assert.match(String(v.failure?.message), /restricted_callback: env\.proxy_get_log_level may not be called while the host runs the module's malloc/);
  assert.ok(!messages(v).some((m) => m.startsWith("node_id")), "the property read never completed");
  bad.stop();
});
