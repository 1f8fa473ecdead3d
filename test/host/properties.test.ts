// proxy_get_property through a fixture: Envoy's names, availability per phase and value
// serialization (envoy source/extensions/common/wasm/context.cc serializeValue).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "./clock.ts";
import { decodePairs } from "./pairs.ts";
import { startPlugin } from "./plugin.ts";
import { runRequest } from "./run-request.ts";
import type { EnvoyVersion, StreamInfo } from "./types.ts";
import { fixture, NODE } from "./test-support.ts";
import type { Vm } from "./vm.ts";

type Result = { status: number; bytes: Uint8Array };

/** Parses the probe fixture's "<phase> <path> <status>:<hex>" lines. */
function results(vm: Vm, from = 0): Map<string, Result> {
  const out = new Map<string, Result>();
  for (const l of vm.logs.slice(from)) {
    const m = /^(cfg|rh|sh|log) (\S+) (\d+):([0-9a-f]*)$/.exec(l.message);
    if (m) out.set(`${m[1]} ${m[2]}`, { status: Number(m[3]), bytes: Buffer.from(m[4]!, "hex") });
  }
  return out;
}

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");
const i64 = (b: Uint8Array) => Buffer.from(b).readBigInt64LE(0);
const f64 = (b: Uint8Array) => Buffer.from(b).readDoubleLE(0);

const CLOCK_WALL = 1_767_225_600_000_000_000n;

async function probe(paths: string[], info: StreamInfo, version: EnvoyVersion = "1.34+", extraRequestHeaders: [string, string][] = []) {
  const clock = new ManualClock({ wallNs: CLOCK_WALL, monoNs: 0n });
  const p = await startPlugin({
    module: await fixture("probe"),
    configuration: paths.join(","),
    node: NODE,
    clock,
    rootId: "meshlat",
    name: "istio-system.meshlat",
    envoyVersion: version,
  });
  const w = p.workers[0]!;
  const cfg = results(w);
  const from = w.logs.length;
  runRequest(w, clock, {
    info,
    requestHeaders: [[":method", "GET"], [":path", "/cart?x=1"], [":authority", "checkout"], ["x-user-tier", "gold"], ["x-probe", paths.join(",")], ...extraRequestHeaders],
    responseHeaders: [[":status", "503"], ["x-probe", paths.join(",")]],
    responseBody: "oops",
    requestMs: 2,
    upstreamMs: 30,
    responseMs: 5,
    logMs: 1,
  });
  p.stop();
  const all = results(w, from);
  for (const [k, v] of cfg) all.set(k, v);
  return all;
}

const INFO: StreamInfo = {
  direction: "outbound",
  clusterName: "outbound|8080||checkout.shop.svc.cluster.local",
  responseFlags: 0x2 | 0x20,
  responseCodeDetails: "upstream_reset_before_response_started",
  mtls: true,
  upstreamLocality: { region: "us-east-1", zone: "us-east-1b" },
  properties: { "filter_state\0wasm.upstream_peer": new Uint8Array([1, 2, 3]), "source.address": "10.0.0.9:51234" },
};

test("properties: names, phases and serialization", async () => {
  const paths = [
    "xds|node|id",
    "xds|node|metadata|WORKLOAD_NAME",
    "xds|node|metadata|LABELS|app",
    "xds|node|metadata|LABELS|topology.kubernetes.io/region",
    "xds|node|metadata|LABELS",
    "xds|node|metadata|REPLICAS",
    "xds|node|metadata|MESH",
    "xds|node|metadata|NOPE",
    "xds|node|locality|region",
    "xds|node|locality|sub_zone",
    "xds|node",
    "xds|cluster_name",
    "xds|listener_direction",
    "response|code",
    "response|code_details",
    "response|flags",
    "response|backend_latency",
    "connection|mtls",
    "upstream|locality|region",
    "request|time",
    "request|duration",
    "request|headers|x-user-tier",
    "request|url_path",
    "request|size",
    "response|size",
    "upstream|request_attempt_count",
    "plugin_root_id",
    "plugin_name",
    "filter_state|wasm.upstream_peer",
    "source|address",
    "node|id",
    "cluster_name",
    "nothing",
  ];
  const r = await probe(paths, INFO);
  const cases: [key: string, status: number, check?: (b: Uint8Array) => void][] = [
    // root context (on_configure): only xds.node and plugin_* resolve
    ["cfg xds|node|id", 0, (b) => assert.equal(text(b), NODE.id)],
    ["cfg xds|node|metadata|LABELS|app", 0, (b) => assert.equal(text(b), "checkout")],
    ["cfg xds|node|locality|region", 0, (b) => assert.equal(text(b), "eu-west-1")],
    ["cfg xds|cluster_name", 1],
    ["cfg response|code", 1],
    ["cfg request|time", 1],
    ["cfg plugin_root_id", 0, (b) => assert.equal(text(b), "meshlat")],
    ["cfg plugin_name", 0, (b) => assert.equal(text(b), "istio-system.meshlat")],
    // on_request_headers
    ["rh xds|node|metadata|WORKLOAD_NAME", 0, (b) => assert.equal(text(b), "checkout")],
    ["rh xds|node|metadata|LABELS|topology.kubernetes.io/region", 0, (b) => assert.equal(text(b), "eu-west-1")],
    [
      "rh xds|node|metadata|LABELS",
      0,
      (b) => assert.deepEqual(decodePairs(b), [["app", "checkout"], ["topology.kubernetes.io/region", "eu-west-1"]]),
    ],
    ["rh xds|node|metadata|REPLICAS", 0, (b) => assert.equal(f64(b), 3)], // Struct numbers are doubles
    ["rh xds|node|metadata|MESH", 0, (b) => assert.deepEqual([...b], [1])],
    ["rh xds|node|metadata|NOPE", 1],
    ["rh xds|node|locality|sub_zone", 0, (b) => assert.equal(b.length, 0)],
    ["rh xds|node", 0, (b) => assert.equal(b[0], 0x0a, "protobuf: field 1 (id), wire type 2")],
    ["rh xds|cluster_name", 0, (b) => assert.equal(text(b), INFO.clusterName)],
    ["rh xds|listener_direction", 0, (b) => assert.equal(i64(b), 2n)],
    ["rh response|code", 1],
    ["rh response|flags", 0, (b) => assert.equal(i64(b), 0n)],
    ["rh response|backend_latency", 1],
    ["rh connection|mtls", 0, (b) => assert.deepEqual([...b], [1])],
    ["rh upstream|locality|region", 1],
    ["rh request|time", 0, (b) => assert.equal(i64(b), CLOCK_WALL)],
    ["rh request|duration", 1],
    ["rh request|headers|x-user-tier", 0, (b) => assert.equal(text(b), "gold")],
    ["rh request|url_path", 0, (b) => assert.equal(text(b), "/cart")],
    ["rh filter_state|wasm.upstream_peer", 0, (b) => assert.deepEqual([...b], [1, 2, 3])],
    ["rh source|address", 0, (b) => assert.equal(text(b), "10.0.0.9:51234")],
    ["rh node|id", 1, undefined], // removed in Envoy >= 1.33
    ["rh cluster_name", 1],
    ["rh nothing", 1],
    // on_response_headers
    ["sh response|code", 0, (b) => assert.equal(i64(b), 503n)],
    ["sh response|code_details", 0, (b) => assert.equal(text(b), "upstream_reset_before_response_started")],
    ["sh response|flags", 0, (b) => assert.equal(i64(b), 0x22n)],
    ["sh upstream|locality|region", 0, (b) => assert.equal(text(b), "us-east-1")],
    ["sh request|headers|x-user-tier", 1], // request headers no longer readable
    ["sh response|backend_latency", 1],
    ["sh upstream|request_attempt_count", 0, (b) => assert.equal(Buffer.from(b).readBigUInt64LE(0), 1n)],
    ["rh upstream|request_attempt_count", 0, (b) => assert.equal(Buffer.from(b).readBigUInt64LE(0), 0n)],
    ["rh request|size", 0, (b) => assert.equal(i64(b), 0n)],
    ["log response|size", 0, (b) => assert.equal(i64(b), 4n)],
    // on_log
    ["log response|code", 0, (b) => assert.equal(i64(b), 503n)],
    ["log response|backend_latency", 0, (b) => assert.equal(i64(b), 37_000_000n)],
    ["log request|duration", 0, (b) => assert.equal(i64(b), 38_000_000n)],
    ["log request|headers|x-user-tier", 0, (b) => assert.equal(text(b), "gold")],
  ];
  for (const [key, status, check] of cases) {
    const got = r.get(key);
    assert.ok(got, `no result for ${key}`);
    assert.equal(got.status, status, `${key}: status`);
    check?.(got.bytes);
  }
});

test("properties: legacy Envoy names and the deprecation window", async () => {
  const paths = ["node|id", "node|metadata|LABELS|app", "cluster_name", "listener_direction", "xds|node|id"];
  const legacy = await probe(paths, INFO, "legacy");
  assert.equal(text(legacy.get("rh node|id")!.bytes), NODE.id);
  assert.equal(text(legacy.get("rh node|metadata|LABELS|app")!.bytes), "checkout");
  assert.equal(text(legacy.get("rh cluster_name")!.bytes), INFO.clusterName);
  assert.equal(i64(legacy.get("rh listener_direction")!.bytes), 2n);
  assert.equal(legacy.get("rh xds|node|id")!.status, 1);
  const both = await probe(paths, INFO, "1.28-1.32");
  assert.equal(both.get("rh node|id")!.status, 0);
  assert.equal(both.get("rh xds|node|id")!.status, 0);
});

test("properties: whole maps — header maps serialize as pairs, the request/response wrappers cannot; inbound direction is 1", async () => {
  const paths = ["request", "request|headers", "response|headers", "xds|listener_direction", "xds|node|metadata|LABELS|app|x"];
  const r = await probe(paths, { direction: "inbound" }, "1.34+", [["x-multi", "1"], ["X-Multi", "2"]]);
  // BaseWrapper::ListKeys is unimplemented -> serializeValue: SerializationFailure
  // (envoy source/extensions/filters/common/expr/context.h, common/wasm/context.cc).
  assert.equal(r.get("rh request")!.status, 3);
  // HeadersWrapper::ListKeys lists each header name once; its value joins repeated values
  // with "," (envoyproxy/envoy#19289, Envoy >= 1.21). Key order is a hash set's: compare sorted.
  const sorted = (b: Uint8Array) => decodePairs(b).sort(([a], [b2]) => (a < b2 ? -1 : 1));
  assert.equal(r.get("rh request|headers")!.status, 0);
  assert.deepEqual(sorted(r.get("rh request|headers")!.bytes), [
    [":authority", "checkout"],
    [":method", "GET"],
    [":path", "/cart?x=1"],
    ["x-multi", "1,2"],
    ["x-probe", paths.join(",")],
    ["x-user-tier", "gold"],
  ]);
  // A map whose headers are not available now is an empty map (HeadersWrapper over nullptr).
  assert.equal(r.get("rh response|headers")!.status, 0);
  assert.deepEqual([...r.get("rh response|headers")!.bytes], [0, 0, 0, 0]);
  assert.equal(i64(r.get("rh xds|listener_direction")!.bytes), 1n);
  assert.equal(r.get("rh xds|node|metadata|LABELS|app|x")!.status, 1, "a path into a string is NOT_FOUND");
});

test("properties: request.size is content-length when valid, NOT_FOUND when not, else body bytes", async () => {
  const cases: [name: string, headers: [string, string][], status: number, size?: bigint][] = [
    ["content-length", [["content-length", "12"]], 0, 12n],
    ["invalid content-length", [["content-length", "12x"]], 1],
    ["no content-length", [], 0, 0n],
  ];
  for (const [name, headers, status, size] of cases) {
    const r = await probe(["request|size"], {}, "1.34+", headers);
    assert.equal(r.get("rh request|size")!.status, status, name);
    if (size !== undefined) assert.equal(i64(r.get("rh request|size")!.bytes), size, name);
  }
});

test("properties in on_log without response headers: the filter's own local reply, a downstream reset", async () => {
  // Envoy's ResponseWrapper / UpstreamWrapper read StreamInfo (envoy
  // source/extensions/filters/common/expr/context.cc): a local reply sets the response code and
  // details, a reset sets flags, and the selected upstream host stays — whether or not response
  // headers ever passed this filter.
  const paths = ["response|code", "response|code_details", "response|flags", "response|total_size", "upstream|locality|region"];
  const p = await startPlugin({ module: await fixture("probe"), configuration: "", node: NODE });
  const w = p.workers[0]!;
  const probeHeader: [string, string] = ["x-probe", paths.join(",")];
  const run = (info: StreamInfo, deny: boolean, then: (s: ReturnType<Vm["stream"]>) => void) => {
    const from = w.logs.length;
    const s = w.stream(info);
    s.requestHeaders([[":path", "/"], probeHeader, ...(deny ? [["x-deny", "1"] as [string, string]] : [])], true);
    then(s);
    s.end();
    return results(w, from);
  };
  // The filter's proxy_send_local_response, logged without response headers reaching the filter.
  const denied = run({}, true, () => {});
  // The same local reply encoded through the filter (Envoy runs encodeHeaders for it).
  const deniedEncoded = run({}, true, (s) => s.responseHeaders([[":status", "403"], ["content-length", "2"]], false));
  // Downstream went away while the upstream (already chosen) had not answered.
  const info: StreamInfo = { upstreamLocality: { region: "us-east-1" } };
  const reset = run(info, false, () => {
    info.responseFlags = 0x4000; // DownstreamConnectionTermination, set by the HCM on the reset
  });
  const cases: [name: string, r: Map<string, Result>, key: string, status: number, check?: (b: Uint8Array) => void][] = [
    ["local reply", denied, "log response|code", 0, (b) => assert.equal(i64(b), 403n)],
    ["local reply", denied, "log response|code_details", 0, (b) => assert.equal(text(b), "denied_by_probe")],
    ["local reply", denied, "log response|flags", 0, (b) => assert.equal(i64(b), 0n)],
    ["local reply encoded", deniedEncoded, "log response|code", 0, (b) => assert.equal(i64(b), 403n)],
    ["local reply encoded", deniedEncoded, "log response|code_details", 0, (b) => assert.equal(text(b), "denied_by_probe")],
    ["reset", reset, "log response|code", 1],
    ["reset", reset, "log response|code_details", 1],
    ["reset", reset, "log response|flags", 0, (b) => assert.equal(i64(b), 0x4000n)],
    ["reset", reset, "log response|total_size", 0, (b) => assert.equal(i64(b), 0n)],
    ["reset", reset, "log upstream|locality|region", 0, (b) => assert.equal(text(b), "us-east-1")],
    ["reset", reset, "rh response|total_size", 0, (b) => assert.equal(i64(b), 0n)],
    ["reset", reset, "rh upstream|locality|region", 1], // the router picks the host after this filter
  ];
  for (const [name, r, key, status, check] of cases) {
    const got = r.get(key);
    assert.ok(got, `${name}: no result for ${key}`);
    assert.equal(got.status, status, `${name}: ${key}: status`);
    check?.(got.bytes);
  }
  p.stop();
});

test("StreamInfo.properties win per path: a given connection/upstream key leaves the built-in keys beside it", async () => {
  const paths = ["connection|mtls", "connection|uri_san_peer_certificate", "upstream|address", "upstream|locality|region", "upstream|port"];
  const r = await probe(paths, {
    mtls: true,
    upstreamLocality: { region: "us-east-1" },
    properties: { "connection\0uri_san_peer_certificate": "spiffe://td/ns/web/sa/fe", "upstream\0address": "10.0.0.2:8080" },
  });
  const cases: [key: string, status: number, check?: (b: Uint8Array) => void][] = [
    ["rh connection|mtls", 0, (b) => assert.deepEqual([...b], [1])],
    ["rh connection|uri_san_peer_certificate", 0, (b) => assert.equal(text(b), "spiffe://td/ns/web/sa/fe")],
    ["sh upstream|address", 0, (b) => assert.equal(text(b), "10.0.0.2:8080")],
    ["sh upstream|locality|region", 0, (b) => assert.equal(text(b), "us-east-1")],
    ["sh upstream|port", 1],
  ];
  for (const [key, status, check] of cases) {
    const got = r.get(key);
    assert.ok(got, `no result for ${key}`);
    assert.equal(got.status, status, `${key}: status`);
    check?.(got.bytes);
  }
});

test("properties newer than the emulated Envoy are NOT_FOUND: backend_latency (1.32), request_attempt_count (1.33), upstream.locality (1.34)", async () => {
  const paths = ["response|backend_latency", "upstream|request_attempt_count", "upstream|locality|region"];
  const want: [version: EnvoyVersion, key: string, status: number][] = [
    ["legacy", "log response|backend_latency", 1],
    ["legacy", "sh upstream|request_attempt_count", 1],
    ["legacy", "sh upstream|locality|region", 1],
    ["1.28-1.32", "log response|backend_latency", 0], // 1.32 has it (envoyproxy/envoy#36292)
    ["1.28-1.32", "sh upstream|request_attempt_count", 1], // envoyproxy/envoy#36939
    ["1.28-1.32", "sh upstream|locality|region", 1], // envoyproxy/envoy#38024
    ["1.33", "log response|backend_latency", 0],
    ["1.33", "sh upstream|request_attempt_count", 0],
    ["1.33", "sh upstream|locality|region", 1], // upstream.locality arrived in 1.34 (#38024)
    ["1.34+", "log response|backend_latency", 0],
    ["1.34+", "sh upstream|request_attempt_count", 0],
    ["1.34+", "sh upstream|locality|region", 0],
  ];
  const byVersion = new Map<EnvoyVersion, Map<string, Result>>();
  for (const v of ["legacy", "1.28-1.32", "1.33", "1.34+"] as const) byVersion.set(v, await probe(paths, INFO, v));
  for (const [v, key, status] of want) assert.equal(byVersion.get(v)!.get(key)?.status, status, `${v} ${key}`);
});
