// Pure pieces of the host: ManualClock timers, pairs format, header map semantics, property
// value serialization, protobuf node encoding.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "./clock.ts";
import { HeaderMap } from "./header-map.ts";
import { decodePairs, encodePairs } from "./pairs.ts";
import { cachedLocalityMessage, localityMessage, nodeMessage } from "./properties.ts";
import { prop, serializeValue, type PropertyValue } from "./property-value.ts";
import { Status } from "./abi.ts";

test("ManualClock fires timers in due order inside advance, at their due time", () => {
  const c = new ManualClock({ monoNs: 0n, wallNs: 5_000n });
  const seen: string[] = [];
  const t = c.setTimer(30n, () => seen.push(`c@${c.monoNs()}`));
  c.setTimer(10n, () => {
    seen.push(`a@${c.monoNs()}`);
    c.setTimer(5n, () => seen.push(`nested@${c.monoNs()}`)); // armed from inside a timer
  });
  c.setTimer(10n, () => seen.push(`b@${c.monoNs()}`)); // same due time: creation order
  c.setTimer(100n, () => seen.push("late"));
  c.advanceNs(29);
  assert.deepEqual(seen, ["a@10", "b@10", "nested@15"]);
  c.clearTimer(t);
  c.advanceNs(1);
  assert.deepEqual(seen, ["a@10", "b@10", "nested@15"], "cleared timer does not fire");
  assert.equal(c.monoNs(), 30n);
  assert.equal(c.wallNs(), 5_030n, "wall clock moves with the monotonic clock");
  assert.equal(c.pendingTimers(), 1);
  assert.throws(() => c.advanceNs(-1), RangeError);
});

test("pairs: byte layout and round trip (including empty strings and UTF-8)", () => {
  const cases: [string, [string, string][], string][] = [
    ["empty", [], "00000000"],
    ["one", [["a", "bc"]], "01000000" + "01000000" + "02000000" + "6100" + "626300"],
    ["empty value", [["k", ""]], "01000000" + "01000000" + "00000000" + "6b00" + "00"],
  ];
  for (const [name, pairs, hex] of cases) {
    assert.equal(Buffer.from(encodePairs(pairs)).toString("hex"), hex, name);
    assert.deepEqual(decodePairs(encodePairs(pairs)), pairs, name);
  }
  assert.deepEqual(decodePairs(encodePairs([["ü", "→"]])), [["ü", "→"]]);
  assert.deepEqual(decodePairs(new Uint8Array([5, 0, 0, 0])), [], "truncated header: no pairs, like cpp-host toPairs");
});

test("pairs: any malformed buffer decodes to no pairs at all (cpp-host PairsUtil::toPairs)", () => {
  const good = encodePairs([["a", "bc"], ["d", "e"]]);
  const withByte = (at: number, v: number) => {
    const b = good.slice();
    b[at] = v;
    return b;
  };
  const many = new Uint8Array(4 + 1025 * 10);
  new DataView(many.buffer).setUint32(0, 1025, true);
  for (let i = 0; i < 1025; i++) many[4 + 1025 * 8 + 2 * i] = 0;
  const cases: [string, Uint8Array][] = [
    ["trailing byte", Uint8Array.from([...good, 0])],
    ["last value cut short", good.subarray(0, good.length - 1)],
    ["key not NUL-terminated", withByte(4 + 16 + 1, 0x78)],
    ["value not NUL-terminated", withByte(good.length - 1, 0x78)],
    ["more than 1024 pairs", many],
    ["empty buffer", new Uint8Array(0)],
  ];
  for (const [name, buf] of cases) assert.deepEqual(decodePairs(buf), [], name);
  assert.deepEqual(decodePairs(good), [["a", "bc"], ["d", "e"]], "the well-formed original");
});

test("HeaderMap: lower-case keys, pseudo-headers first, replace = remove all + append, byte size", () => {
  const h = new HeaderMap([["Foo", "1"], [":path", "/"]]);
  h.add(":method", "GET");
  h.add("foo", "2");
  assert.deepEqual(h.toPairs(), [[":path", "/"], [":method", "GET"], ["foo", "1"], ["foo", "2"]]);
  assert.equal(h.get("FOO"), "1");
  assert.deepEqual(h.getAll("foo"), ["1", "2"]);
  h.add("zed", "z");
  h.replace("foo", "3");
  assert.deepEqual(h.toPairs(), [[":path", "/"], [":method", "GET"], ["zed", "z"], ["foo", "3"]]);
  h.replace("bar", "x");
  assert.equal(h.byteSize(), ":path/:methodGETzedzfoo3barx".length);
  h.remove("foo");
  assert.equal(h.get("foo"), undefined);
});

test("property values serialize as Envoy's serializeValue", () => {
  const hex = (v: PropertyValue) => {
    const r = serializeValue(v);
    return typeof r === "number" ? r : Buffer.from(r).toString("hex");
  };
  const cases: [string, PropertyValue, string | number][] = [
    ["string raw", "ab", "6162"],
    ["bytes raw", new Uint8Array([0, 255]), "00ff"],
    ["int64 LE", 200, "c800000000000000"],
    ["negative int64", -1n, "ffffffffffffffff"],
    ["uint64", prop.uint(2n ** 64n - 1n), "ffffffffffffffff"],
    ["double", 1.5, "000000000000f83f"],
    ["bool", true, "01"],
    ["duration ns", prop.durationNs(1_000_000n), "40420f0000000000"],
    ["null", prop.null(), Status.SERIALIZATION_FAILURE],
    ["map as pairs", { a: "b" }, "01000000010000000100000061006200"],
    ["list as pairs with empty values", ["x"], "0100000001000000000000007800" + "00"],
    ["map with a null value", { a: prop.null() }, Status.SERIALIZATION_FAILURE],
  ];
  for (const [name, v, want] of cases) assert.equal(hex(v), want, name);
});

test("xds.node protobuf: id, cluster, metadata Struct, locality, user agent", () => {
  const m = nodeMessage({ id: "n1", cluster: "c", metadata: { A: "x" }, locality: { region: "r" } });
  const b = Buffer.from(m.bytes);
  // field 1 "n1", field 2 "c"
  assert.equal(b.subarray(0, 7).toString("hex"), "0a026e31120163");
  // field 3: Struct{ fields: {key "A", value {string_value "x"}} }
  assert.equal(b.subarray(7, 7 + 12).toString("hex"), "1a0a" + "0a08" + "0a0141" + "1203" + "1a0178");
  // field 4: Locality{ region "r" }, field 6: "envoy"
  assert.equal(b.subarray(19).toString("hex"), "2203" + "0a0172" + "3205" + Buffer.from("envoy").toString("hex"));
});

test("upstream.locality messages are encoded once per distinct locality, not per lookup", () => {
  const a = cachedLocalityMessage({ region: "us-east-1", zone: "b" });
  assert.equal(cachedLocalityMessage({ region: "us-east-1", zone: "b" }), a, "an equal locality reuses the message");
  assert.notEqual(cachedLocalityMessage({ region: "us-east-1", subzone: "b" }), a, "zone and sub_zone are distinct keys");
  assert.deepEqual(a.bytes, localityMessage({ region: "us-east-1", zone: "b" }).bytes);
});
