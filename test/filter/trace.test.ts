// The filter's trace-header parsing (filter/assembly/trace.ts, compiled alone through the
// test/fixtures/assembly/trace.ts fixture with the filter's options): named cases from the W3C
// Trace Context and B3 specs, then fast-check properties against a reference written from the
// specs' grammar — a malformed header never yields an id.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";

interface TraceFixture {
  input(): number; output(): number; memory: WebAssembly.Memory; _start(): void;
  traceparent(n: number): number; b3(n: number): number; traceId(tpLen: number, b3Len: number, sampledOnly: number): number;
}

const module = new WebAssembly.Module(readFileSync(new URL("../fixtures/build/trace.wasm", import.meta.url)));
const x = new WebAssembly.Instance(module, {
  wasi_snapshot_preview1: {
    proc_exit: (code: number) => { throw new Error(`proc_exit(${code})`); },
    fd_write: () => 0,
  },
}).exports as unknown as TraceFixture;
x._start();

function put(at: number, s: string): number {
  const b = Buffer.from(s, "latin1");
  assert.ok(b.length <= 256);
  new Uint8Array(x.memory.buffer, x.input() + at, b.length).set(b);
  return b.length;
}
const out = (len: number) => Buffer.from(new Uint8Array(x.memory.buffer, x.output(), len)).toString("hex");

/** traceparent -> [flags, trace id hex] or null, through the filter. */
function viaFilter(s: string): [number, string] | null {
  const flags = x.traceparent(put(0, s));
  return flags < 0 ? null : [flags, out(16)];
}
function b3ViaFilter(s: string): string | null {
  const len = x.b3(put(0, s));
  return len === 0 ? null : out(len);
}

// The reference, from w3c/trace-context spec/20-http_request_header_format.md: version 00 is
// exactly version-traceid-parentid-flags; a higher version (not ff) may go on after a '-'.
const TP = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[\s\S]*)?$/;
function reference(s: string): [number, string] | null {
  const m = TP.exec(s);
  if (!m) return null;
  const [, version, traceId, parentId, flags, rest] = m;
  if (version === "ff" || (version === "00" && rest !== undefined)) return null;
  if (/^0+$/.test(traceId!) || /^0+$/.test(parentId!)) return null;
  return [parseInt(flags!, 16), traceId!];
}
const b3Reference = (s: string) => (/^([0-9a-f]{16}|[0-9a-f]{32})$/.test(s) && !/^0+$/.test(s) ? s : null);

const ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const traceparentCases: [string, string, [number, string] | null][] = [
  ["the spec's example, sampled", `00-${ID}-${PARENT}-01`, [1, ID]],
  ["not sampled", `00-${ID}-${PARENT}-00`, [0, ID]],
  ["unknown flags kept (bit 0 decides sampling)", `00-${ID}-${PARENT}-fe`, [0xfe, ID]],
  ["a future version with more fields", `cc-${ID}-${PARENT}-01-what-the-future-will-be-like`, [1, ID]],
  ["a future version, exactly 55 characters", `01-${ID}-${PARENT}-01`, [1, ID]],
  ["version 00 with more fields", `00-${ID}-${PARENT}-01-extra`, null],
  ["version 00 with a trailing space", `00-${ID}-${PARENT}-01 `, null],
  ["a future version not followed by '-'", `01-${ID}-${PARENT}-01x`, null],
  ["version ff", `ff-${ID}-${PARENT}-01`, null],
  ["upper-case version", `0A-${ID}-${PARENT}-01`, null],
  ["upper-case trace id", `00-${ID.toUpperCase()}-${PARENT}-01`, null],
  ["upper-case parent id", `00-${ID}-${PARENT.toUpperCase()}-01`, null],
  ["upper-case flags", `00-${ID}-${PARENT}-0A`, null],
  ["all-zero trace id", `00-${"0".repeat(32)}-${PARENT}-01`, null],
  ["all-zero parent id", `00-${ID}-${"0".repeat(16)}-01`, null],
  ["short trace id", `00-${ID.slice(1)}-${PARENT}-01`, null],
  ["long parent id", `00-${ID}-${PARENT}0-01`, null],
  ["one-digit flags", `00-${ID}-${PARENT}-1`, null],
  ["underscore separators", `00_${ID}_${PARENT}_01`, null],
  ["non-hex in the trace id", `00-${ID.slice(0, 31)}g-${PARENT}-01`, null],
  ["leading space", ` 00-${ID}-${PARENT}-01`, null],
  ["empty", "", null],
];
for (const [name, value, want] of traceparentCases) {
  test(`traceparent: ${name}`, () => {
    assert.deepEqual(reference(value), want, "the reference agrees with the case");
    assert.deepEqual(viaFilter(value), want);
  });
}

const b3Cases: [string, string, string | null][] = [
  ["128-bit", ID, ID],
  ["64-bit", "a3ce929d0e0e4736", "a3ce929d0e0e4736"],
  ["64-bit with leading zeros", "0000000000000001", "0000000000000001"],
  ["all-zero 128-bit", "0".repeat(32), null],
  ["all-zero 64-bit", "0".repeat(16), null],
  ["upper case", ID.toUpperCase(), null],
  ["15 digits", "a3ce929d0e0e473", null],
  ["17 digits", "a3ce929d0e0e47360", null],
  ["31 digits", ID.slice(1), null],
  ["33 digits", ID + "0", null],
  ["a traceparent is not a B3 id", `00-${ID}-${PARENT}-01`, null],
  ["empty", "", null],
];
for (const [name, value, want] of b3Cases) {
  test(`x-b3-traceid: ${name}`, () => {
    assert.equal(b3Reference(value), want, "the reference agrees with the case");
    assert.equal(b3ViaFilter(value), want);
  });
}

/** traceIdOf through the filter: id hex or null. */
function chosen(tp: string | null, b3: string | null, sampledOnly: boolean): string | null {
  const len = x.traceId(tp === null ? 0 : put(0, tp), b3 === null ? 0 : put(256, b3), sampledOnly ? 1 : 0);
  return len === 0 ? null : out(len);
}
const B3 = "80f198ee56343ba864fe8b2a57d3eff7";
const choiceCases: [string, string | null, string | null, boolean, string | null][] = [
  ["no trace header: no id", null, null, true, null],
  ["a sampled traceparent", `00-${ID}-${PARENT}-01`, null, true, ID],
  ["traceparent wins over B3", `00-${ID}-${PARENT}-01`, B3, true, ID],
  ["an unsampled traceparent gives none when sampled only", `00-${ID}-${PARENT}-00`, B3, true, null],
  ["an unsampled traceparent counts when not sampled only", `00-${ID}-${PARENT}-00`, B3, false, ID],
  ["a malformed traceparent falls back to B3", `00-${ID.toUpperCase()}-${PARENT}-01`, B3, true, B3],
  ["B3 alone", null, B3, true, B3],
  ["64-bit B3 alone", null, "a3ce929d0e0e4736", true, "a3ce929d0e0e4736"],
  ["both malformed: none", `00-${ID}-${PARENT}-01-x`, B3.slice(1), false, null],
];
for (const [name, tp, b3, sampledOnly, want] of choiceCases) {
  test(`trace id choice: ${name}`, () => assert.equal(chosen(tp, b3, sampledOnly), want));
}

// Strings close to valid: built from the headers' own alphabet plus what breaks them.
const near = fc.stringOf(fc.constantFrom(..."0123456789abcdefABCDEFgx- _\t".split("")), { maxLength: 80 });
const validTp = fc.tuple(
  fc.constantFrom("00", "01", "7f", "fe", "ff"), fc.hexaString({ minLength: 32, maxLength: 32 }),
  fc.hexaString({ minLength: 16, maxLength: 16 }), fc.hexaString({ minLength: 2, maxLength: 2 }),
  fc.option(fc.string({ maxLength: 20 })),
).map(([v, t, p, f, rest]) => `${v}-${t}-${p}-${f}${rest ?? ""}`.toLowerCase());
/** One edit (replace, insert or delete a character) of a string. */
const mutated = (base: fc.Arbitrary<string>) => fc.tuple(base, fc.nat(), fc.char(), fc.constantFrom(0, 1, 2))
  .map(([s, i, c, op]) => {
    const at = s.length ? i % s.length : 0;
    return op === 0 ? s.slice(0, at) + c + s.slice(at + 1) : op === 1 ? s.slice(0, at) + c + s.slice(at) : s.slice(0, at) + s.slice(at + 1);
  });

test("property: traceparent through the filter equals the spec's grammar, for any near-valid or edited header", () => {
  fc.assert(fc.property(fc.oneof(near, validTp, mutated(validTp), fc.string({ maxLength: 80 })), (s) => {
    assert.deepEqual(viaFilter(s), reference(s));
  }), { numRuns: 20000, seed: 16 });
});

test("property: x-b3-traceid through the filter equals the spec's grammar", () => {
  const validB3 = fc.oneof(fc.hexaString({ minLength: 16, maxLength: 16 }), fc.hexaString({ minLength: 32, maxLength: 32 }));
  fc.assert(fc.property(fc.oneof(near, validB3, mutated(validB3)), (s) => {
    assert.equal(b3ViaFilter(s), b3Reference(s));
  }), { numRuns: 20000, seed: 16 });
});

test("property: a malformed pair of headers never yields an id; a valid one yields exactly its id", () => {
  const header = fc.option(fc.oneof(near, validTp, mutated(validTp)), { nil: null });
  fc.assert(fc.property(header, fc.option(fc.oneof(near, mutated(fc.hexaString({ minLength: 32, maxLength: 32 }))), { nil: null }), fc.boolean(),
    (tp, b3, sampledOnly) => {
      const r = tp === null ? null : reference(tp);
      const want = r !== null ? (sampledOnly && (r[0] & 1) === 0 ? null : r[1]) : b3 === null ? null : b3Reference(b3);
      assert.equal(chosen(tp, b3, sampledOnly), want);
    }), { numRuns: 20000, seed: 16 });
});
