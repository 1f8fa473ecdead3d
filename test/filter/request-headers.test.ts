// The filter's request-header scan (filter/assembly/request-headers.ts: the tier header and
// `traceparent`, `x-b3-traceid`, `x-b3-sampled` from one serialized copy of the map) and its
// per-series exemplar records (filter/assembly/exemplar.ts), compiled alone through the
// test/fixtures/assembly/request-headers.ts fixture with the filter's options. The pairs are
// serialized as the host does (test/host/pairs.ts); a reference written from the specs decides
// what must come out. Through the real .wasm: test/filter/exemplar.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { encodePairs } from "../host/index.ts";
import type { Pair } from "../host/index.ts";

interface Fixture {
  memory: WebAssembly.Memory; _start(): void; input(): number; setTierHeader(n: number): void;
  scan(n: number, sampledOnly: number): number; tierLen(): number; traceLen(): number; traceId(): number;
  sawTrace(): number; offer(entry: number, valueUs: bigint, endNs: bigint): void; clear(): void;
  exLen(entry: number): number; exId(entry: number): number; exValue(entry: number): bigint; exTime(entry: number): bigint;
}

const module = new WebAssembly.Module(readFileSync(new URL("../fixtures/build/request-headers.wasm", import.meta.url)));
const x = new WebAssembly.Instance(module, {
  wasi_snapshot_preview1: {
    proc_exit: (code: number) => { throw new Error(`proc_exit(${code})`); },
    fd_write: () => 0,
  },
}).exports as unknown as Fixture;
x._start();

const mem = (at: number, len: number) => Buffer.from(new Uint8Array(x.memory.buffer, at, len));
function put(b: Uint8Array): number {
  assert.ok(b.length <= 4096);
  new Uint8Array(x.memory.buffer, x.input(), b.length).set(b);
  return b.length;
}

interface Scanned { tier: string | null; trace: string | null }
/** What the filter makes of serialized pairs: the tier value and the trace id hex, null when none. */
function scanBytes(b: Uint8Array, sampledOnly: boolean): Scanned {
  const at = x.scan(put(b), sampledOnly ? 1 : 0);
  const tier = at < 0 ? null : mem(x.input() + at, x.tierLen()).toString("latin1");
  const len = x.traceLen();
  return { tier, trace: len === 0 ? null : mem(x.traceId(), len).toString("hex") };
}
const scan = (pairs: Pair[], sampledOnly = true) => scanBytes(encodePairs(pairs), sampledOnly);

// The reference, from w3c/trace-context spec/20-http_request_header_format.md and
// openzipkin/b3-propagation README.md (the same grammar test/filter/trace.test.ts checks trace.ts with).
const TP = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[\s\S]*)?$/;
function traceparent(s: string): { flags: number; id: string } | null {
  const m = TP.exec(s);
  if (!m) return null;
  const [, version, id, parent, flags, rest] = m;
  if (version === "ff" || (version === "00" && rest !== undefined)) return null;
  if (/^0+$/.test(id!) || /^0+$/.test(parent!)) return null;
  return { flags: parseInt(flags!, 16), id: id! };
}
const b3Id = (s: string) => (/^([0-9a-f]{16}|[0-9a-f]{32})$/.test(s) && !/^0+$/.test(s) ? s : null);
function reference(pairs: Pair[], sampledOnly: boolean): Scanned {
  const all = (k: string) => pairs.filter(([n]) => n === k).map(([, v]) => v);
  // the tier: the first entry, what proxy_get_header_map_value returns (envoy context.cc getHeaderMapValue)
  return { tier: all("x-user-tier")[0] ?? null, trace: traceOf(sampledOnly, all) };
}
function traceOf(sampledOnly: boolean, all: (k: string) => string[]): string | null {
  // a repeated traceparent is invalid (w3c/trace-context test_traceparent_duplicated)
  const tps = all("traceparent");
  const tp = tps.length === 1 ? traceparent(tps[0]!) : null;
  if (tp) return sampledOnly && (tp.flags & 1) === 0 ? null : tp.id;
  // of repeated B3 headers the first wins (b3-propagation README)
  const b3 = all("x-b3-traceid")[0];
  const sampled = all("x-b3-sampled")[0];
  if (b3 === undefined || (sampledOnly && (sampled === "0" || sampled === "false"))) return null;
  return b3Id(b3);
}

const ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const B3 = "80f198ee56343ba864fe8b2a57d3eff7";
const TP_SAMPLED = `00-${ID}-${PARENT}-01`;
const TP_UNSAMPLED = `00-${ID}-${PARENT}-00`;
const BASE: Pair[] = [[":authority", "payments:8080"], [":path", "/"], [":method", "GET"], ["x-request-id", "r1"]];

const cases: [string, Pair[], boolean, string | null][] = [
  ["no trace header", [...BASE, ["x-user-tier", "premium"]], true, null],
  ["a sampled traceparent", [...BASE, ["traceparent", TP_SAMPLED], ["x-user-tier", "free"]], true, ID],
  ["a sampled traceparent before the tier header", [["traceparent", TP_SAMPLED], ...BASE, ["x-user-tier", "free"]], true, ID],
  ["traceparent wins over B3", [["x-b3-traceid", B3], ["traceparent", TP_SAMPLED]], true, ID],
  ["an unsampled traceparent: none when sampled only", [["traceparent", TP_UNSAMPLED], ["x-b3-traceid", B3]], true, null],
  ["an unsampled traceparent counts otherwise", [["traceparent", TP_UNSAMPLED]], false, ID],
  ["B3 alone", [...BASE, ["x-b3-traceid", B3]], true, B3],
  ["64-bit B3", [["x-b3-traceid", "a3ce929d0e0e4736"]], true, "a3ce929d0e0e4736"],
  ["B3 sampled 1", [["x-b3-traceid", B3], ["x-b3-sampled", "1"]], true, B3],
  ["B3 sampled 0: none when sampled only", [["x-b3-sampled", "0"], ["x-b3-traceid", B3]], true, null],
  ["B3 sampled false (the older spelling): none when sampled only", [["x-b3-traceid", B3], ["x-b3-sampled", "false"]], true, null],
  ["B3 sampled 0 counts otherwise", [["x-b3-traceid", B3], ["x-b3-sampled", "0"]], false, B3],
  ["a malformed traceparent falls back to B3", [["traceparent", `00-${ID.toUpperCase()}-${PARENT}-01`], ["x-b3-traceid", B3]], true, B3],
  ["version ff never", [["traceparent", `ff-${ID}-${PARENT}-01`]], false, null],
  ["an all-zero trace id never", [["traceparent", `00-${"0".repeat(32)}-${PARENT}-01`]], false, null],
  ["an all-zero B3 id never", [["x-b3-traceid", "0".repeat(32)]], false, null],
  ["a repeated traceparent is malformed", [["traceparent", TP_SAMPLED], ["traceparent", TP_SAMPLED]], false, null],
  ["a repeated traceparent falls back to B3", [["traceparent", TP_SAMPLED], ["traceparent", TP_SAMPLED], ["x-b3-traceid", B3]], false, B3],
  ["of repeated x-b3-traceid the first wins", [["x-b3-traceid", B3], ["x-b3-traceid", "a3ce929d0e0e4736"]], false, B3],
  ["a malformed first x-b3-traceid is not saved by a second", [["x-b3-traceid", "xyz"], ["x-b3-traceid", B3]], false, null],
  ["of repeated x-b3-sampled the first wins", [["x-b3-traceid", B3], ["x-b3-sampled", "0"], ["x-b3-sampled", "1"]], true, null],
  ["of repeated x-b3-sampled the first wins (accept first)", [["x-b3-traceid", B3], ["x-b3-sampled", "1"], ["x-b3-sampled", "0"]], true, B3],
  ["names that only start like a trace header", [["traceparents", TP_SAMPLED], ["x-b3-traceids", B3], ["x-b3-spanid", PARENT], ["tracestate", "a=b"]], false, null],
  ["an empty traceparent is malformed", [["traceparent", ""], ["x-b3-traceid", B3]], true, B3],
];
for (const [name, pairs, sampledOnly, want] of cases) {
  test(`request headers: ${name}`, () => {
    const tier = pairs.find(([k]) => k === "x-user-tier")?.[1] ?? null;
    assert.deepEqual(reference(pairs, sampledOnly), { tier, trace: want }, "the reference agrees with the case");
    assert.deepEqual(scan(pairs, sampledOnly), { tier, trace: want });
    // any trace header, usable or not, tells the filter that this traffic is traced
    assert.equal(x.sawTrace() !== 0, pairs.some(([k]) => k === "traceparent" || k === "x-b3-traceid"), "trace header seen");
  });
}

const tierCases: [string, Pair[], string | null][] = [
  ["absent", BASE, null],
  ["present", [...BASE, ["x-user-tier", "premium"]], "premium"],
  ["the first of several counts (as proxy_get_header_map_value)", [["x-user-tier", "gold"], ...BASE, ["x-user-tier", "free"]], "gold"],
  ["an empty value is present", [...BASE, ["x-user-tier", ""]], ""],
  ["beside every trace header", [["traceparent", TP_SAMPLED], ["x-b3-traceid", B3], ["x-user-tier", "free"], ["x-b3-sampled", "1"]], "free"],
  ["a longer or shorter name is another header", [["x-user-tiers", "a"], ["x-user-tie", "b"]], null],
];
for (const [name, pairs, want] of tierCases) {
  test(`tier header: ${name}`, () => assert.equal(scan(pairs).tier, want));
}

test("tier header: a configured tier header named like a trace header takes that name", () => {
  x.setTierHeader(put(Buffer.from("traceparent")));
  try {
    assert.deepEqual(scan([["traceparent", TP_SAMPLED]]), { tier: TP_SAMPLED, trace: null });
  } finally {
    x.setTierHeader(put(Buffer.from("x-user-tier")));
  }
});

// Header sets drawn around the names the scan looks for, with valid, unsampled, edited and junk values.
const name = fc.constantFrom("traceparent", "x-b3-traceid", "x-b3-sampled", "x-user-tier", "x-b3-traceia", "tracepaRent", ":path", "x-b3-samplee");
const tpValue = fc.oneof(
  fc.constantFrom(TP_SAMPLED, TP_UNSAMPLED, `01-${ID}-${PARENT}-03-x`, `ff-${ID}-${PARENT}-01`, `00-${ID}-${"0".repeat(16)}-01`),
  fc.tuple(fc.hexaString({ minLength: 32, maxLength: 32 }), fc.constantFrom("00", "01")).map(([id, f]) => `00-${id}-${PARENT}-${f}`),
);
const value = fc.oneof(tpValue, fc.constantFrom(B3, "a3ce929d0e0e4736", "0", "1", "false", "true", "premium", ""), fc.hexaString({ maxLength: 33 }), fc.string({ maxLength: 60 }));
const pairsArb = fc.array(fc.tuple(name, value), { maxLength: 12 });

test("property: the scan agrees with the specs' reference for any set of request headers", () => {
  fc.assert(fc.property(pairsArb, fc.boolean(), (pairs, sampledOnly) => {
    assert.deepEqual(scan(pairs, sampledOnly), reference(pairs, sampledOnly));
  }), { numRuns: 5000, seed: 16 });
});

test("property: a truncated or corrupted pairs buffer yields nothing that lies outside it", () => {
  fc.assert(fc.property(pairsArb, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (pairs, cut, at, byte) => {
    const full = encodePairs([...pairs, ["x-user-tier", "gold"], ["traceparent", TP_SAMPLED]]);
    const b = Uint8Array.from(full.subarray(0, cut % (full.length + 1)));
    if (b.length > 0 && at % 3 === 0) b[at % b.length] = byte; // sometimes a corrupt count or length
    const n = put(b);
    const tierAt = x.scan(n, 0);
    if (tierAt >= 0) assert.ok(tierAt + x.tierLen() <= n, "the tier value lies inside the buffer");
    const id = scanBytes(b, false).trace;
    // only a header whose bytes were all inside the buffer: the id's hex is there verbatim
    if (id !== null) assert.ok(Buffer.from(b).toString("latin1").includes(id), id);
  }), { numRuns: 3000, seed: 16 });
});

test("exemplars: per series entry the slowest traced request of the window; a new window starts empty", () => {
  x.clear();
  scan([["traceparent", TP_SAMPLED]]);
  x.offer(3, 1500n, 1_700_000_000_001_999_999n);
  assert.equal(x.exLen(3), 16);
  assert.equal(mem(x.exId(3), 16).toString("hex"), ID);
  assert.equal(x.exValue(3), 1500n);
  assert.equal(x.exTime(3), 1_700_000_000_001n, "wall ns -> ms, truncated");
  assert.equal(x.exLen(2), 0, "other entries have none");

  scan([["x-b3-traceid", "a3ce929d0e0e4736"]]);
  x.offer(3, 1500n, 2_000_000_000_000_000_000n); // as slow: the first stays
  assert.equal(mem(x.exId(3), 16).toString("hex"), ID);
  x.offer(3, 900n, 2_000_000_000_000_000_000n); // faster: stays
  assert.deepEqual([x.exValue(3), x.exTime(3)], [1500n, 1_700_000_000_001n]);
  x.offer(3, 2000n, 1_700_000_000_004_000_000n); // slower: replaces, with its own id length
  assert.equal(x.exLen(3), 8);
  assert.equal(mem(x.exId(3), 8).toString("hex"), "a3ce929d0e0e4736");
  assert.deepEqual([x.exValue(3), x.exTime(3)], [2000n, 1_700_000_000_004n]);

  x.offer(16, 5n, 1_000_000n); // the catch-all entry (capacity 16) has its own record
  assert.equal(x.exLen(16), 8);
  assert.equal(x.exValue(3), 2000n);

  x.clear();
  assert.equal(x.exLen(3), 0, "a new window has no exemplar");
  assert.equal(x.exLen(16), 0);
  x.offer(3, 1n, 2_000_000n); // any traced request is the first of the new window
  assert.deepEqual([x.exLen(3), x.exValue(3), x.exTime(3)], [8, 1n, 2n]);
});
