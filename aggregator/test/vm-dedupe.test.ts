// De-duplication by seq (store/vms.ts) against its definition: a VM's batch is a duplicate when
// its seq was merged already, or is `dedupe_window` or more below the highest seq merged.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { VmRegistry } from "../src/store/vms.ts";

const counters = { requests: 0, folded_requests: 0, dropped_batches: 0, failed_flushes: 0 };

test("admit() refuses exactly the seqs already merged or older than the window below the highest", () => {
  // Steps around the highest seq: back within and beyond the window, repeats, small and large jumps.
  const steps = fc.array(fc.oneof(fc.integer({ min: -40, max: 3 }), fc.integer({ min: -300, max: 3 }), fc.integer({ min: 30, max: 600 })), { minLength: 1, maxLength: 200 });
  fc.assert(fc.property(fc.constantFrom(1, 5, 31, 32, 33, 64, 100, 256), steps, (window, deltas) => {
    const r = new VmRegistry({ maxVms: 10, dedupeWindow: window, idleTimeoutMs: Infinity });
    const merged = new Set<number>();
    let max = 0, now = 0;
    for (const d of deltas) {
      const seq = Math.max(1, max + d);
      now += 60_000; // long enough apart that no jump is refused as too fast
      const duplicate = merged.has(seq) || seq <= max - window;
      assert.equal(r.admit({ v: 2, proxy: { id: "p", workload: "w", namespace: "n", region: "r" }, vm: "0123456789abcdef", seq, window: [0, 1], counters }, now), !duplicate, `seq ${seq} (highest ${max}, window ${window})`);
      if (!duplicate) { merged.add(seq); max = Math.max(max, seq); }
    }
  }), { numRuns: 300, seed: 1406 });
});
