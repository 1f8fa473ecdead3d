// Shared queues across the VMs of a plugin (proxy-wasm-cpp-host src/shared_queue.cc): one
// token per (vm_id, name); registering again re-targets notifications to the last registrant;
// enqueue posts proxy_on_queue_ready to it asynchronously; dequeue drains then answers EMPTY.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "./clock.ts";
import { startPlugin } from "./plugin.ts";
import { fixture, messagesSince, NODE } from "./test-support.ts";

test("shared queue: same token everywhere, the last registrant is notified, EMPTY after draining", async () => {
  const clock = new ManualClock();
  const p = await startPlugin({ module: await fixture("queue"), configuration: "item", node: NODE, clock, workers: 2 });
  const [main, w1, w2] = [p.main, p.workers[0]!, p.workers[1]!];
  for (const vm of [main, w1, w2]) assert.ok(vm.logs.some((l) => l.message === "registered 0 token=1"), `vm ${vm.id}`);
  const marks = [main, w1, w2].map((vm) => vm.logs.length);
  clock.advanceMs(1000); // every VM ticks and enqueues one item
  assert.deepEqual(messagesSince(w2, marks[2]!), ["enqueue 0"], "notification is not delivered inside enqueue");
  await p.settle();
  // w2 registered last: it gets the notifications; the first drains all three items.
  assert.deepEqual(messagesSince(w2, marks[2]!), ["enqueue 0", "ready token=1 item=item item=item item=item end=7", "ready token=1 end=7", "ready token=1 end=7"]);
  assert.deepEqual(messagesSince(main, marks[0]!), ["enqueue 0"]);
  assert.deepEqual(messagesSince(w1, marks[1]!), ["enqueue 0"]);
  p.stop();
});
