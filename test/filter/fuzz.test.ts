// Never trap on garbage: random and mutated configurations, header values and property
// bytes go through the built module; the VM must stay healthy and keep counting requests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runRequest } from "../host/index.ts";
import { harness, decodeBatch, BASE_CONFIG, OUTBOUND, INBOUND, AGG_CLUSTER } from "./helpers.ts";
import { seededRandom as prng } from "../support/rand.ts";

const ALPHABET = ' {}[]:,"\\.-+eE0123456789truefalsnl\u0000\u0001\u00ff\u00e9\t\naggregator_cluster';
function junk(rand: () => number, max: number): string {
  let s = "";
  const n = Math.floor(rand() * max);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
  return s;
}

function mutate(rand: () => number, s: string): string {
  const i = Math.floor(rand() * s.length);
  const ops = [
    () => s.slice(0, i) + s.slice(i + 1),
    () => s.slice(0, i) + junk(rand, 4) + s.slice(i),
    () => s.slice(0, i),
    () => s.slice(0, i) + s.slice(i).replace(/[0-9]/, "9e9"),
  ];
  return ops[Math.floor(rand() * ops.length)]!();
}

test("random and mutated configurations: accepted or rejected with a code, never a trap", async () => {
  const rand = prng(7);
  const valid = JSON.stringify({ ...BASE_CONFIG, tiers: ["gold", "silver"], flush_interval_ms: 500, max_series: 64, app_timing_metric: "app", region_default: "x" });
  for (let i = 0; i < 150; i++) {
    const cfg = i % 3 === 0 ? junk(rand, 80) : mutate(rand, mutate(rand, valid));
    const h = await harness(cfg);
    try {
      const vm = h.plugin.canary;
      assert.equal(vm.failed, false, `trap on ${JSON.stringify(cfg)}`);
      if (!h.plugin.accepted) {
        const errs = vm.logs.filter((l) => l.level === "error");
        assert.equal(errs.length, 1, JSON.stringify(cfg));
        assert.match(errs[0]!.message, /^FLT_ERR_CONFIG_[A-Z]+ field=/);
      }
    } finally {
      h.stop();
    }
  }
});

test("random header values and property bytes: requests always counted, never a trap", async () => {
  const rand = prng(11);
  const h = await harness({ aggregator_cluster: AGG_CLUSTER });
  try {
    const vm = h.plugin.workers[0]!;
    const N = 1500;
    for (let i = 0; i < N; i++) {
      const bytes = () => junk(rand, rand() < 0.1 ? 3000 : 40).replaceAll("\u0000", "").replaceAll("\n", "");
      runRequest(vm, h.clock, {
        info: {
          clusterName: rand() < 0.5 ? (rand() < 0.5 ? OUTBOUND : INBOUND) : bytes(),
          direction: rand() < 0.5 ? "inbound" : "outbound",
          responseFlags: Math.floor(rand() * 2 ** 31),
          upstreamLocality: { region: bytes() },
          properties: rand() < 0.3 ? { "filter_state\u0000downstream_peer": rand() < 0.5 ? new TextEncoder().encode(bytes()) : { workload: bytes(), namespace: bytes() } } : {},
        },
        requestHeaders: [[":authority", bytes()], ["x-user-tier", bytes()]],
        responseHeaders: [[":status", String(Math.floor(rand() * 1000))], ["server-timing", bytes()]],
        upstreamMs: rand() * 5,
      });
    }
    vm.tick();
    await h.plugin.settle();
    assert.equal(vm.failed, false);
    const total = h.batches().reduce((a, b) => a + b.series.reduce((x, s) => x + s[1], 0), 0);
    assert.equal(total, N);
    assert.equal(decodeBatch(h.posts.at(-1)!.body).counters.requests, N);
  } finally {
    h.stop();
  }
});
