// Header-map host calls through the probe fixture: add / replace / remove / first value /
// byte size / pairs serialization, pointer rules, set_property round trip.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startPlugin } from "./plugin.ts";
import { fixture, messagesSince, NODE } from "./test-support.ts";

/** Independent encoder for the expected bytes: [n][kl vl]*n [k\0 v\0]*n, little-endian. */
function pairsHex(pairs: [string, string][]): string {
  const head = Buffer.alloc(4 + 8 * pairs.length);
  head.writeUInt32LE(pairs.length, 0);
  const data: Buffer[] = [];
  pairs.forEach(([k, v], i) => {
    head.writeUInt32LE(Buffer.byteLength(k), 4 + 8 * i);
    head.writeUInt32LE(Buffer.byteLength(v), 8 + 8 * i);
    data.push(Buffer.from(`${k}\0${v}\0`));
  });
  return Buffer.concat([head, ...data]).toString("hex");
}

test("header maps: mutations, first value, byte size, pairs; unreadable later; access-log copy", async () => {
  const p = await startPlugin({ module: await fixture("probe"), configuration: "", node: NODE });
  const w = p.workers[0]!;
  const from = w.logs.length;
  const s = w.stream();
  s.requestHeaders([[":path", "/"], ["x-ops", "1"], ["X-Rep", "old"], ["x-rep", "old2"], ["x-del", "1"], ["x-multi", "1"]], false);
  s.requestTrailers([["x-rt", "1"]]);
  s.responseHeaders([[":status", "200"]], true);
  s.end();
  const final: [string, string][] = [
    [":path", "/"],
    ["x-ops", "1"],
    ["x-multi", "1"],
    ["x-added", "a"], // keys are lower-cased
    ["x-multi", "2"],
    ["x-rep", "new"], // replace = remove every value, then append (HeaderMapImpl::setCopy)
  ];
  assert.deepEqual(s.requestHeadersOut, final);
  const size = final.reduce((n, [k, v]) => n + k.length + v.length, 0);
  const hex = pairsHex(final);
  assert.deepEqual(messagesSince(w, from), [
    `ops add=0 add2=0 replace=0 remove=0 first=0:1 size=0:${size} pairs=0:ptr:${hex.length / 2}:${hex} setprop=0 getprop=0:${Buffer.from("v1").toString("hex")}`,
    // after on_request_headers returned Continue: add -> BAD_ARGUMENT, pairs -> empty (ptr 0, size 0), size -> BAD_ARGUMENT
    "sh late add=2 reqpairs=0:null:0: reqsize=2:",
    // on_log: the access-log copy of the request headers; no request trailers
    `log reqpairs=0:ptr:${hex.length / 2}:${hex} rtpairs=0:null:0: reqsize=2:`,
  ]);
  p.stop();
});

test("proxy_set_buffer_bytes on the request body: prepend, append, replace all; partial replace and a body no longer held are BAD_ARGUMENT", async () => {
  // envoy source/extensions/common/wasm/context.cc Buffer::copyFrom; after Continue the filter
  // drops request_body_buffer_ and the empty Buffer refuses writes (BufferBase::copyFrom).
  const p = await startPlugin({ module: await fixture("probe"), configuration: "", node: NODE });
  const w = p.workers[0]!;
  const from = w.logs.length;
  const s = w.stream();
  s.requestHeaders([[":path", "/"], ["x-body-ops", "1"]], false);
  s.requestBody(new TextEncoder().encode("abc"), true);
  s.responseHeaders([[":status", "200"]], true);
  s.end();
  assert.deepEqual(messagesSince(w, from).filter((m) => /^(late )?body /.test(m)), [
    "body prepend=0 partial=2 append=0 text=0:<abc> all=0 text=0:all",
    "late body set=2",
  ]);
  assert.equal(Buffer.from(s.requestBodyOut).toString(), "all", "what Envoy forwards");
  p.stop();
});
