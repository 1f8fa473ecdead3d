// RealClock drives ticks and http-call delivery with real timers (as the local sidecar uses
// it). Polls with a deadline instead of sleeping a fixed time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RealClock } from "./clock.ts";
import { startPlugin } from "./plugin.ts";
import { until } from "../support/poll.ts";
import { fixture, messagesSince, NODE } from "./test-support.ts";


test("RealClock: monotonic and wall clocks advance; tick timers fire", async () => {
  const clock = new RealClock();
  const m0 = clock.monoNs();
  const w0 = clock.wallNs();
  assert.ok(Math.abs(Number(w0 / 1_000_000n) - Date.now()) < 1000, "wall clock is anchored to Date.now()");
  const p = await startPlugin({ module: await fixture("lifecycle"), configuration: "tick:20", node: NODE, clock, workers: 1 });
  const w = p.workers[0]!;
  const from = w.logs.length;
  try {
    await until(() => messagesSince(w, from).filter((m) => m.startsWith("tick ")).length >= 2, { timeoutMs: 5000 });
    assert.ok(clock.monoNs() - m0 >= 40_000_000n, "two 20 ms periods passed");
  } finally {
    p.stop();
  }
});
