// Hostile input: a corpus of the malformed bodies an attacker or a broken client sends, and
// fast-check properties over arbitrary bytes and arbitrarily mutated batches. Whatever comes in:
// never a 5xx, never a crash, memory bounded, and a valid batch afterwards counts exactly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { batchValue, buildBatch, encodeBatch, requests } from "../../test/support/batch-builder.ts";
import { encodeMsgpack } from "../../test/support/msgpack-encode.ts";
import { parseExposition, sample, testApp } from "./helpers.ts";
import type { TestApp } from "./helpers.ts";

const ACCEPTABLE = new Set([204, 400, 403, 408, 411, 413, 415, 429]);

async function send(a: TestApp, body: Uint8Array, headers: Record<string, string> = {}): Promise<number> {
  const r = await a.fastify.inject({ method: "POST", url: "/v1/batches", headers: { "content-type": "application/msgpack", ...headers }, payload: Buffer.from(body) });
  assert.ok(ACCEPTABLE.has(r.statusCode), `status ${r.statusCode}: ${r.body.slice(0, 200)}`);
  if (r.statusCode !== 204) assert.match(r.json().code, /^AGG_ERR_[A-Z_]+$/);
  return r.statusCode;
}

/** A valid batch's value, as a plain object to mutate. */
const valid = (seq = 1) => batchValue({ vm: "00000000000000f0", seq, series: [requests(4, { requestMs: 3, upstreamMs: 2, appMs: 1 })] }) as Record<string, any>;

/** Array headers nested `depth` deep (fixarray of 1, repeated), then nil. */
const nested = (depth: number) => Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0xc0])]);

/** A str8 holding raw bytes (invalid UTF-8 when they are), spliced where a label string goes. */
function withRawLabel(bytes: number[]): Uint8Array {
  const marker = "MARKERMARKERMARK";
  const v = valid();
  v.strings[1] = marker;
  const enc = Buffer.from(encodeBatch(v));
  const at = enc.indexOf(marker) - 2; // str8 header: 0xd9 len, or fixstr 0xa0|len one byte before
  const head = enc[at + 1]! === (0xa0 | marker.length) ? at + 1 : at;
  return Buffer.concat([enc.subarray(0, head), Buffer.from([0xd9, bytes.length, ...bytes]), enc.subarray(enc.indexOf(marker) + marker.length)]);
}

function corpus(): [string, Uint8Array, Record<string, string>?][] {
  const good = Buffer.from(encodeBatch(valid()));
  const out: [string, Uint8Array, Record<string, string>?][] = [];
  let x = 7;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let i = 0; i < 40; i++) out.push([`random bytes #${i}`, Buffer.from(Array.from({ length: 1 + (i * 37) % 600 }, rnd))]);
  for (let cut = 1; cut < good.length; cut += Math.max(1, Math.floor(good.length / 60))) out.push([`truncated at ${cut}`, good.subarray(0, cut)]);
  out.push(["nesting 10k deep", nested(10_000)], ["nesting 1M deep", nested(1_000_000)]);
  const mut = (name: string, f: (v: Record<string, any>) => void) => { const v = valid(); f(v); out.push([name, encodeMsgpack(v)]); };
  mut("NaN count", (v) => { v.series[0][1] = NaN; });
  mut("Infinity sum", (v) => { v.series[0][2][0][1] = Infinity; });
  mut("2^64 seq", (v) => { v.seq = 2n ** 64n - 1n; });
  mut("negative window", (v) => { v.window = [-5, -1]; });
  mut("histogram n != bucket total", (v) => { v.series[0][2][0][0] = 3; });
  mut("sum outside its buckets", (v) => { v.series[0][2][0][1] = 9e15; });
  mut("NUL in a label", (v) => { v.strings[1] = "a\u0000b"; });
  mut("CR LF in a label", (v) => { v.strings[1] = "a\r\nb"; });
  mut("label of 100k chars", (v) => { v.strings[1] = "x".repeat(100_000); });
  mut("700k-entry string table", (v) => { v.strings = Array.from({ length: 700_001 }, (_, i) => `s${i}`); });
  mut("series index far out of range", (v) => { v.series[0][0][0] = 4_000_000_000; });
  mut("counters as array", (v) => { v.counters = [1, 2, 3]; });
  mut("proxy as string", (v) => { v.proxy = "x"; });
  mut("unknown version", (v) => { v.v = 99; });
  mut("__proto__ keys", (v) => { v.proxy = JSON.parse('{"__proto__":{"polluted":1},"id":"a","workload":"b","namespace":"c","region":"d"}'); });
  out.push(["invalid UTF-8 label", withRawLabel([0xff, 0xfe, 0x80])], ["overlong UTF-8 label", withRawLabel([0xc0, 0x80])]);
  const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024));
  out.push(["gzip bomb, declared", bomb, { "content-encoding": "gzip" }], ["gzip bomb, undeclared", bomb]);
  out.push(["str32 claiming 4 GB", Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x41])], ["map32 claiming 4G entries", Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff])]);
  out.push(["empty", new Uint8Array(0)], ["trailing garbage", Buffer.concat([good, Buffer.from([0, 1, 2])])]);
  return out;
}

const EXACT_LABELS = { reporter: "source", source_workload: "exact", source_namespace: "shop", destination_service: "exact.shop.svc.cluster.local", response_code: "200", response_flags: "-", connection_security_policy: "unknown", user_tier: "free", region: "eu-west-1", peer_region: "eu-west-1" };

async function countsExactly(a: TestApp, n: number): Promise<void> {
  assert.equal(await send(a, buildBatch({ series: [requests(n, { requestMs: 5 }, { source_workload: "exact", destination_service: "exact.shop.svc.cluster.local" })] })), 204);
  assert.equal(sample(parseExposition(await a.scrape()), "meshlat_requests_total", EXACT_LABELS), n);
}

test("hostile corpus: every kind answers 204 or a 4xx with a catalog code; the process and the store stay sound", async () => {
  const a = testApp({ body_limit_bytes: 16 * 1024 * 1024 });
  try {
    const heapBefore = process.memoryUsage().heapUsed;
    const seen = new Map<number, number>();
    for (const [name, body, headers] of corpus()) {
      const status = await send(a, body, headers).catch((e: Error) => { throw new Error(`${name}: ${e.message}`); });
      seen.set(status, (seen.get(status) ?? 0) + 1);
    }
    assert.ok((seen.get(400) ?? 0) > 50, JSON.stringify([...seen]));
    // Seq going backwards and repeats: duplicates, never merged twice.
    for (const seq of [5, 3, 5, 4, 1]) await send(a, encodeBatch(valid(seq)));
    await countsExactly(a, 17);
    const grew = (process.memoryUsage().heapUsed - heapBefore) / 1048576;
    assert.ok(grew < 256, `heap grew ${grew.toFixed(0)} MiB`);
  } finally { await a.fastify.close(); }
});

test("property: arbitrary bytes never cause a 5xx, and a valid batch afterwards counts exactly", async () => {
  const a = testApp();
  try {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => { await send(a, bytes); }), { numRuns: 300, seed: 1201 });
    await countsExactly(a, 9);
  } finally { await a.fastify.close(); }
});

test("property: a valid batch with any field replaced by any value never causes a 5xx or corrupts counts", async () => {
  const a = testApp();
  try {
    const paths: ((v: Record<string, any>, x: unknown) => void)[] = [
      (v, x) => { v.v = x; }, (v, x) => { v.proxy = x; }, (v, x) => { v.proxy.namespace = x; }, (v, x) => { v.vm = x; },
      (v, x) => { v.seq = x; }, (v, x) => { v.window = x; }, (v, x) => { v.window[1] = x; }, (v, x) => { v.strings = x; },
      (v, x) => { v.strings[2] = x; }, (v, x) => { v.series = x; }, (v, x) => { v.series[0] = x; }, (v, x) => { v.series[0][1] = x; },
      (v, x) => { v.series[0][2] = x; }, (v, x) => { v.series[0][2][0] = x; }, (v, x) => { v.counters = x; }, (v, x) => { v.counters.requests = x; },
      (v, x) => { v.labels = x; }, (v, x) => { v.bounds_us = x; },
    ];
    const value = fc.oneof(fc.anything({ maxDepth: 3 }), fc.double(), fc.bigInt(), fc.string({ maxLength: 300 }), fc.constant(null));
    let seq = 1;
    await fc.assert(fc.asyncProperty(fc.nat(paths.length - 1), value, async (i, x) => {
      const v = valid(++seq);
      paths[i]!(v, x);
      let body: Uint8Array;
      try { body = encodeMsgpack(v); } catch { return; } // a value msgpack cannot encode is no body
      await send(a, body);
    }), { numRuns: 400, seed: 1202 });
    await countsExactly(a, 11);
  } finally { await a.fastify.close(); }
});
