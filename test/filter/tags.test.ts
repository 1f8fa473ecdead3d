// Label rules per request: user tier (including hostile header values), reporter and
// destination from the cluster name or listener direction, mTLS, response flags, peer
// metadata, and the proxy's region fallbacks (read once per VM).
import { test } from "node:test";
import assert from "node:assert/strict";
import { prop, runRequest, type StreamInfo } from "../host/index.ts";
import { indexOfMs } from "../../aggregator/src/wire/exp-buckets.ts";
import {
  harness, oneBatch, onlyLabels, BASE_CONFIG, OUTBOUND, INBOUND, REQ, RESP_200, NODE, labelsOf,
} from "./helpers.ts";

const tierCases: { name: string; headers: [string, string][]; tier: string }[] = [
  { name: "missing", headers: [], tier: "unknown" },
  { name: "empty", headers: [["x-user-tier", ""]], tier: "unknown" },
  { name: "only whitespace", headers: [["x-user-tier", " \t "]], tier: "unknown" },
  { name: "allow-listed", headers: [["x-user-tier", "premium"]], tier: "premium" },
  { name: "upper-case and padded", headers: [["x-user-tier", "  EnterPrise\t"]], tier: "enterprise" },
  { name: "not allow-listed", headers: [["x-user-tier", "platinum"]], tier: "other" },
  { name: "64 bytes, not listed", headers: [["x-user-tier", "a".repeat(64)]], tier: "other" },
  { name: "very long", headers: [["x-user-tier", "free".repeat(10000)]], tier: "other" },
  { name: "non-ASCII", headers: [["x-user-tier", "frée"]], tier: "other" },
  { name: "control characters", headers: [["x-user-tier", "fr\u0001ee"]], tier: "other" },
  { name: "repeated header: Envoy returns the first value", headers: [["x-user-tier", "free"], ["x-user-tier", "premium"]], tier: "free" },
  { name: "comma list is one opaque value", headers: [["x-user-tier", "free,premium"]], tier: "other" },
];

test("user_tier rules, hostile values included", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    for (const c of tierCases) {
      const b = await oneBatch(h, [{ info: { clusterName: OUTBOUND }, requestHeaders: [...REQ, ...c.headers], responseHeaders: RESP_200 }]);
      assert.equal(onlyLabels(b).user_tier, c.tier, c.name);
    }
    // The label set never grows beyond the allow-list plus unknown/other.
    const vm = h.plugin.workers[0]!;
    for (let i = 0; i < 300; i++) {
      runRequest(vm, h.clock, { info: { clusterName: OUTBOUND }, requestHeaders: [...REQ, ["x-user-tier", `tier-${i}`]], responseHeaders: RESP_200 });
    }
    const b = await oneBatch(h, []);
    assert.deepEqual(b.series.map((s) => labelsOf(b, s).user_tier), ["other"]);
    assert.equal(b.series[0]![1], 300);
    assert.equal(vm.failed, false);
  } finally {
    h.stop();
  }
});

test("user_tier: custom header and allow-list", async () => {
  const h = await harness({ ...BASE_CONFIG, tier_header: "X-Plan", tiers: ["gold"] });
  try {
    const b = await oneBatch(h, [
      { info: { clusterName: OUTBOUND }, requestHeaders: [...REQ, ["x-plan", "GOLD"]], responseHeaders: RESP_200 },
      { info: { clusterName: OUTBOUND }, requestHeaders: [...REQ, ["x-user-tier", "free"]], responseHeaders: RESP_200 },
    ]);
    assert.deepEqual(b.series.map((s) => labelsOf(b, s).user_tier).sort(), ["gold", "unknown"]);
  } finally {
    h.stop();
  }
});

const PEER = { "filter_state\u0000downstream_peer": { workload: "frontend", namespace: "web", name: "frontend-1" } };

const streamCases: { name: string; info: StreamInfo; req?: [string, string][]; resp?: [string, string][]; expect: Record<string, string> }[] = [
  {
    name: "outbound: source reporter, own identity, FQDN, peer region, csp unknown",
    info: { clusterName: OUTBOUND, upstreamLocality: { region: "us-east-1" }, mtls: true },
    expect: { reporter: "source", source_workload: "checkout", source_namespace: "shop", destination_service: "payments.shop.svc.cluster.local", connection_security_policy: "unknown", peer_region: "us-east-1", region: "eu-west-1" },
  },
  {
    name: "outbound subset cluster",
    info: { clusterName: "outbound|9080|v2|reviews.bookinfo.svc.cluster.local" },
    expect: { reporter: "source", destination_service: "reviews.bookinfo.svc.cluster.local", peer_region: "unknown" },
  },
  {
    name: "inbound with mTLS: destination reporter, peer from downstream_peer, authority host",
    info: { clusterName: INBOUND, mtls: true, properties: PEER },
    expect: { reporter: "destination", source_workload: "frontend", source_namespace: "web", destination_service: "payments.shop", connection_security_policy: "mutual_tls", peer_region: "unknown" },
  },
  {
    name: "inbound: the whole downstream_peer map (nested labels, more fields) is parsed",
    info: {
      clusterName: INBOUND, mtls: true,
      properties: { "filter_state\u0000downstream_peer": { type: "pod", name: "fe-1", labels: { app: "fe", "x": "workload" }, namespace: "web", workload: "fe", cluster: "Kubernetes" } },
    },
    expect: { source_workload: "fe", source_namespace: "web" },
  },
  {
    // Istio 1.24's WorkloadMetadataObject where Envoy's CEL wrapper has no field access:
    // serializeAsString (istio/proxy@release-1.24 extensions/common/metadata_object.cc).
    name: "inbound: downstream_peer read whole as 'k=v,...' (Istio 1.24 object, serialized)",
    info: {
      clusterName: INBOUND, mtls: true,
      properties: { "filter_state\u0000downstream_peer": new TextEncoder().encode("type=deployment,workload=checkout-v2,name=checkout-v2-abc,namespace=payments") },
    },
    expect: { source_workload: "checkout-v2", source_namespace: "payments", connection_security_policy: "mutual_tls" },
  },
  {
    name: "inbound: garbage peer bytes -> unknown",
    info: { clusterName: INBOUND, properties: { "filter_state\u0000downstream_peer": Uint8Array.from([0x0a, 0xff, 0xff, 0x01, 0x02]) } },
    expect: { source_workload: "unknown", source_namespace: "unknown" },
  },
  {
    name: "inbound: peer with an empty workload",
    info: { clusterName: INBOUND, properties: { "filter_state\u0000downstream_peer": { workload: "", namespace: "web" } } },
    expect: { source_workload: "unknown", source_namespace: "web", connection_security_policy: "none" },
  },
  {
    // istio/proxy istio_stats.cc populatePeerInfo: the namespace comes from the peer SAN when
    // there is one ("fallback from using the namespace from SAN ... to using peer metadata").
    name: "inbound mTLS without peer metadata: source_namespace from the peer SAN",
    info: { clusterName: INBOUND, properties: { "connection\u0000mtls": true, "connection\u0000uri_san_peer_certificate": "spiffe://cluster.local/ns/web/sa/frontend" } },
    expect: { source_workload: "unknown", source_namespace: "web", connection_security_policy: "mutual_tls" },
  },
  {
    name: "inbound mTLS, peer without a namespace: source_namespace from the peer SAN",
    info: { clusterName: INBOUND, properties: { "connection\u0000mtls": true, "connection\u0000uri_san_peer_certificate": "spiffe://td/ns/pay", "filter_state\u0000downstream_peer": { workload: "fe" } } },
    expect: { source_workload: "fe", source_namespace: "pay" },
  },
  {
    name: "inbound mTLS, SAN without a namespace segment -> unknown",
    info: { clusterName: INBOUND, properties: { "connection\u0000mtls": true, "connection\u0000uri_san_peer_certificate": "spiffe://td/sa/x" } },
    expect: { source_namespace: "unknown" },
  },
  {
    name: "inbound plaintext without peer metadata",
    info: { clusterName: INBOUND, mtls: false },
    expect: { reporter: "destination", source_workload: "unknown", source_namespace: "unknown", connection_security_policy: "none" },
  },
  {
    name: "non-Istio cluster, inbound listener",
    info: { clusterName: "InboundPassthroughCluster", direction: "inbound" },
    req: [[":authority", "10.0.0.7:8080"]],
    expect: { reporter: "destination", destination_service: "10.0.0.7" },
  },
  {
    name: "non-Istio cluster, outbound listener: authority host (IPv6)",
    info: { clusterName: "PassthroughCluster", direction: "outbound" },
    req: [[":authority", "[2001:db8::1]:443"]],
    expect: { reporter: "source", destination_service: "[2001:db8::1]" },
  },
  {
    name: "no cluster at all, upper-case authority",
    info: { direction: "outbound" },
    req: [[":authority", "API.Example.COM"]],
    expect: { reporter: "source", destination_service: "api.example.com" },
  },
  {
    name: "response flags decoded in Envoy's order",
    info: { clusterName: OUTBOUND, responseFlags: 0x2 | 0x20 | 0x8000 },
    resp: [[":status", "503"]],
    expect: { response_code: "503", response_flags: "UH,UF,URX" },
  },
  {
    name: "response flags: every bit",
    info: { clusterName: OUTBOUND, responseFlags: 0x3fffffff },
    resp: [[":status", "503"]],
    expect: { response_flags: "LH,UH,UT,LR,UR,UF,UC,UO,NR,DI,FI,RL,UAEX,RLSE,DC,URX,SI,IH,DPE,UMSDR,RFCF,NFCF,DT,UPE,NC,OM,DF,DO,DR,UDO" },
  },
  {
    // Istio runs the fault filter after STATS-phase Wasm: an injected delay shows in upstream
    // time of a clean 200, and DI is what explains it.
    name: "response flags on a clean 2xx (both directions ended) are read: DI",
    info: { clusterName: OUTBOUND, responseFlags: 0x200 },
    expect: { response_code: "200", response_flags: "DI" },
  },
  {
    name: "response flags on a clean 304 from the cache filter: RFCF",
    info: { clusterName: OUTBOUND, responseFlags: 0x100000 },
    resp: [[":status", "304"]],
    expect: { response_code: "304", response_flags: "RFCF" },
  },
  {
    name: "response flags on a 4xx are read",
    info: { clusterName: OUTBOUND, responseFlags: 0x800 },
    resp: [[":status", "429"]],
    expect: { response_code: "429", response_flags: "RL" },
  },
  {
    name: "response flags: unknown bits only",
    info: { clusterName: OUTBOUND, responseFlags: 0x40000000 },
    resp: [[":status", "500"]],
    expect: { response_flags: "-" },
  },
];

for (const c of streamCases) {
  test(`labels: ${c.name}`, async () => {
    const h = await harness(BASE_CONFIG);
    try {
      const req = c.req ? [[":method", "GET"], [":path", "/"], ...c.req] as [string, string][] : REQ;
      const b = await oneBatch(h, [{ info: c.info, requestHeaders: req, responseHeaders: c.resp ?? RESP_200 }]);
      const l = onlyLabels(b);
      for (const [k, v] of Object.entries(c.expect)) assert.equal((l as Record<string, string>)[k], v, k);
    } finally {
      h.stop();
    }
  });
}

test("labels: a stream reset before any response has code 0 and no upstream", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    const vm = h.plugin.workers[0]!;
    const s = vm.stream({ clusterName: OUTBOUND, responseFlags: 0x10 });
    s.requestHeaders(REQ, true);
    h.clock.advanceMs(7);
    s.log();
    s.done();
    const b = await oneBatch(h, []);
    const l = onlyLabels(b);
    assert.equal(l.response_code, "0");
    const [request, upstream, proxy, app, network] = b.series[0]![2];
    assert.deepEqual(request, [1, 7000, { scale: 3, zero: 0, offset: indexOfMs(7, 3), counts: [1] }]);
    assert.equal(upstream, null);
    assert.equal(proxy, null);
    assert.equal(app, null);
    assert.equal(network, null);
  } finally {
    h.stop();
  }
});

test("labels: a log-only stream (rejected before the filter) is counted without timings", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    const vm = h.plugin.workers[0]!;
    // The host only offers response.code once response headers passed the filter; Envoy has it
    // in on_log for a local reply sent before our filter, so the test sets it explicitly.
    const s = vm.stream({ clusterName: OUTBOUND, properties: { "response\u0000code": prop.int(403) } });
    s.log();
    s.done();
    const b = await oneBatch(h, []);
    const l = onlyLabels(b);
    assert.equal(l.response_code, "403");
    assert.equal(l.user_tier, "unknown");
    assert.equal(b.series[0]![1], 1);
    assert.deepEqual(b.series[0]![2], [null, null, null, null, null]);
  } finally {
    h.stop();
  }
});

const regionCases: { name: string; node: typeof NODE; version?: "legacy" | "1.34+" | "1.33" | "1.28-1.32"; config?: Record<string, unknown>; region: string; workload?: string }[] = [
  { name: "xds.node.locality.region", node: NODE, region: "eu-west-1" },
  { name: "legacy Envoy: node.locality.region", node: NODE, version: "legacy", region: "eu-west-1", workload: "checkout" },
  { name: "deprecation window (both spellings)", node: NODE, version: "1.28-1.32", region: "eu-west-1" },
  {
    name: "pod label topology.kubernetes.io/region",
    node: { id: "n", metadata: { WORKLOAD_NAME: "w", NAMESPACE: "ns", LABELS: { "topology.kubernetes.io/region": "ap-south-1" } } },
    region: "ap-south-1", workload: "w",
  },
  {
    name: "pod label on legacy Envoy",
    node: { id: "n", metadata: { LABELS: { "topology.kubernetes.io/region": "ap-south-1" } } },
    version: "legacy", region: "ap-south-1", workload: "unknown",
  },
  { name: "region_default", node: { id: "n" }, config: { region_default: "dc-7" }, region: "dc-7", workload: "unknown" },
  { name: "default unknown", node: { id: "n", locality: { zone: "z" } }, region: "unknown" },
];

for (const c of regionCases) {
  test(`region: ${c.name}`, async () => {
    const h = await harness({ ...BASE_CONFIG, ...c.config }, { node: c.node, envoyVersion: c.version ?? "1.34+" });
    try {
      const info = c.version === "legacy" ? { clusterName: OUTBOUND } : { clusterName: OUTBOUND };
      const b = await oneBatch(h, [{ info, requestHeaders: REQ, responseHeaders: RESP_200 }]);
      assert.equal(b.proxy.region, c.region);
      assert.equal(b.proxy.id, c.node.id);
      const l = onlyLabels(b);
      assert.equal(l.region, c.region);
      assert.equal(l.reporter, "source");
      assert.equal(l.destination_service, "payments.shop.svc.cluster.local");
      if (c.workload) assert.equal(l.source_workload, c.workload);
    } finally {
      h.stop();
    }
  });
}

test("region and identity are read once per VM, not per request", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    const vm = h.plugin.workers[0]!;
    const spec = { info: { clusterName: OUTBOUND }, requestHeaders: REQ, responseHeaders: RESP_200 };
    runRequest(vm, h.clock, spec);
    vm.resetHostCalls();
    for (let i = 0; i < 10; i++) runRequest(vm, h.clock, spec);
    // 3 properties per outbound request: cluster name, upstream locality, response flags.
    assert.equal(vm.hostCalls.get("env.proxy_get_property"), 30);
  } finally {
    h.stop();
  }
});

const longCases: { name: string; value: string | Uint8Array; expect: string }[] = [
  { name: "256 bytes kept", value: "r".repeat(256), expect: "r".repeat(256) },
  { name: "257 bytes -> other", value: "r".repeat(257), expect: "other" },
  { name: "invalid UTF-8 -> other", value: new Uint8Array([0x65, 0x75, 0xff, 0x31]), expect: "other" },
  { name: "overlong UTF-8 -> other", value: new Uint8Array([0xc0, 0xaf]), expect: "other" },
  { name: "UTF-8 surrogate -> other", value: new Uint8Array([0xed, 0xa0, 0x80]), expect: "other" },
  { name: "valid multi-byte kept", value: "région-東京-🙂", expect: "région-東京-🙂" },
];

for (const c of longCases) {
  test(`label values from properties: ${c.name}`, async () => {
    const h = await harness(BASE_CONFIG);
    try {
      const b = await oneBatch(h, [{
        info: { clusterName: OUTBOUND, properties: { "upstream\u0000locality\u0000region": c.value } },
        requestHeaders: REQ, responseHeaders: RESP_200,
      }]);
      assert.equal(onlyLabels(b).peer_region, c.expect);
    } finally {
      h.stop();
    }
  });
}

test("response flags are read when a 2xx response did not end cleanly (reset mid-body)", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    const vm = h.plugin.workers[0]!;
    const s = vm.stream({ clusterName: OUTBOUND, responseFlags: 0x4000 });
    s.requestHeaders(REQ, true);
    s.responseHeaders(RESP_200, false);
    s.responseBody(new Uint8Array(5), false);
    s.log();
    s.done();
    const b = await oneBatch(h, []);
    assert.equal(onlyLabels(b).response_flags, "DC");
  } finally {
    h.stop();
  }
});

test("user_tier: a tier equal to another label constant still counts as a tier", async () => {
  const h = await harness({ ...BASE_CONFIG, tiers: ["none", "eu-west-1", "source", "gold"] });
  try {
    for (const t of ["none", "eu-west-1", "source", "gold"]) {
      const b = await oneBatch(h, [{ info: { clusterName: OUTBOUND }, requestHeaders: [...REQ, ["x-user-tier", t.toUpperCase()]], responseHeaders: RESP_200 }]);
      assert.equal(onlyLabels(b).user_tier, t);
    }
  } finally {
    h.stop();
  }
});
