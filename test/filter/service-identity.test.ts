// Real-Istio fidelity of the labels that must match across the two sides of an edge: the
// inbound destination_service comes from the inbound cluster's metadata (what istio.stats
// reads), not from the caller's `:authority`; a client-controlled host never becomes a label
// unchecked; the downstream peer is read as each Istio version serves it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { downstreamPeerProperties, istioClusterMetadata, runRequest, type IstioPeerFormat, type StreamInfo } from "../host/index.ts";
import { BASE_CONFIG, INBOUND, OUTBOUND, RESP_200, harness, oneBatch, onlyLabels } from "./helpers.ts";

const PAYMENTS = "payments.shop.svc.cluster.local";
const META = istioClusterMetadata([{ host: PAYMENTS, name: "payments", namespace: "shop" }]);
const req = (authority: string): [string, string][] => [[":method", "GET"], [":path", "/"], [":authority", authority]];

async function inboundDestination(authority: string, info: StreamInfo): Promise<string> {
  const h = await harness(BASE_CONFIG);
  try {
    const b = await oneBatch(h, [{ info, requestHeaders: req(authority), responseHeaders: RESP_200 }]);
    return onlyLabels(b).destination_service;
  } finally {
    h.stop();
  }
}

for (const authority of ["payments:8080", "payments", "payments.shop:8080", `${PAYMENTS}:8080`, "10.1.2.3:8080", "evil.example.com"]) {
  test(`inbound: destination_service is the cluster metadata's service whatever the caller typed (${authority})`, async () => {
    assert.equal(await inboundDestination(authority, { clusterName: INBOUND, clusterMetadata: META }), PAYMENTS);
  });
}

test("inbound without cluster metadata: the :authority host, a dotless name expanded in the proxy's namespace", async () => {
  const noMeta = { clusterName: INBOUND };
  assert.equal(await inboundDestination("payments:8080", noMeta), PAYMENTS);
  assert.equal(await inboundDestination(`${PAYMENTS}:8080`, noMeta), PAYMENTS);
  assert.equal(await inboundDestination("Payments.Shop.SVC.cluster.local", noMeta), PAYMENTS);
});

const INVALID_HOSTS = [
  "<script>alert(1)</script>",
  "a b.example.com",
  "x..y.example.com",
  "-bad.example.com",
  "bad-.example.com",
  "café.example.com",
  "under_score.example.com",
  `${"a".repeat(64)}.example.com`,
  `${"abcdefghi.".repeat(26)}com`, // 263 bytes
  "host%2fpath",
];

for (const authority of INVALID_HOSTS) {
  test(`a :authority that is not a valid DNS name never becomes a label: ${JSON.stringify(authority.slice(0, 40))}`, async () => {
    assert.equal(await inboundDestination(authority, { clusterName: INBOUND }), "other");
    assert.equal(await inboundDestination(authority, { clusterName: "InboundPassthroughCluster", direction: "inbound" }), "other");
    const h = await harness(BASE_CONFIG);
    try {
      const b = await oneBatch(h, [{ info: { clusterName: "PassthroughCluster", direction: "outbound" }, requestHeaders: req(authority), responseHeaders: RESP_200 }]);
      assert.equal(onlyLabels(b).destination_service, "other", "outbound passthrough too");
    } finally {
      h.stop();
    }
  });
}

test("valid hosts stay: IPv4, bracketed IPv6, a 63-byte label, upper case folded", async () => {
  assert.equal(await inboundDestination("10.0.0.7:8080", { clusterName: "InboundPassthroughCluster", direction: "inbound" }), "10.0.0.7");
  assert.equal(await inboundDestination("[2001:db8::1]:443", { clusterName: "InboundPassthroughCluster", direction: "inbound" }), "[2001:db8::1]");
  const label63 = `${"a".repeat(63)}.example.com`;
  assert.equal(await inboundDestination(label63, { clusterName: "InboundPassthroughCluster", direction: "inbound" }), label63);
  assert.equal(await inboundDestination("API.Example.COM", { clusterName: "InboundPassthroughCluster", direction: "inbound" }), "api.example.com");
});

test("inbound service is read once per cluster name: later requests on that cluster skip the metadata read", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    const vm = h.plugin.workers[0]!;
    const OTHER = istioClusterMetadata([{ host: "ledger.shop.svc.cluster.local", name: "ledger", namespace: "shop" }]);
    const calls: number[] = [];
    for (const [cluster, meta] of [[INBOUND, META], [INBOUND, META], ["inbound|9090||", OTHER], ["inbound|9090||", OTHER], [INBOUND, META]] as const) {
      vm.resetHostCalls();
      runRequest(vm, h.clock, { info: { clusterName: cluster, clusterMetadata: meta }, requestHeaders: req("x:1"), responseHeaders: RESP_200 });
      calls.push(vm.hostCallTotal());
    }
    assert.equal(calls[1], calls[0]! - 1, `the second request on a cluster makes one host call less: ${calls}`);
    assert.equal(calls[3], calls[1], "a second cluster is cached on its own");
    assert.equal(calls[4], calls[1], "the first cluster is still cached");
    vm.tick();
    await h.plugin.settle();
    const dests = new Set(h.batches()[0]!.series.map((s) => h.batches()[0]!.strings[s[0][3]!]));
    assert.deepEqual([...dests].sort(), ["ledger.shop.svc.cluster.local", PAYMENTS]);
  } finally {
    h.stop();
  }
});

// ---- downstream peer per Istio version ----

const PEER = { workload: "frontend", namespace: "web", name: "frontend-1", cluster: "Kubernetes", type: "deployment", region: "us-east-1" };

async function inboundPeer(format: IstioPeerFormat) {
  const h = await harness(BASE_CONFIG);
  try {
    const b = await oneBatch(h, [{
      info: { clusterName: INBOUND, clusterMetadata: META, mtls: true, properties: downstreamPeerProperties(PEER, format) },
      requestHeaders: req("payments:8080"),
      responseHeaders: RESP_200,
    }]);
    return onlyLabels(b);
  } finally {
    h.stop();
  }
}

for (const [format, peerRegion] of [["1.24", "unknown"], ["1.24-serialized", "unknown"], ["1.25-1.28", "unknown"], ["1.29+", "us-east-1"]] as const) {
  test(`downstream peer as Istio ${format} serves it: source workload/namespace${format === "1.29+" ? ", peer_region from the peer's region" : ""}`, async () => {
    const l = await inboundPeer(format);
    assert.equal(l.source_workload, "frontend");
    assert.equal(l.source_namespace, "web");
    assert.equal(l.peer_region, peerRegion);
  });
}

test("a whole read that parses but lacks the fields falls back to leaf reads (Istio 1.24's empty map)", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    const vm = h.plugin.workers[0]!;
    vm.resetHostCalls();
    const b = await oneBatch(h, [{
      info: { clusterName: INBOUND, mtls: true, properties: downstreamPeerProperties({ workload: "fe", namespace: "web" }, "1.24") },
      requestHeaders: req("payments:8080"),
      responseHeaders: RESP_200,
    }]);
    assert.deepEqual([onlyLabels(b).source_workload, onlyLabels(b).source_namespace], ["fe", "web"]);
  } finally {
    h.stop();
  }
});

test("outbound peer_region stays the endpoint's locality (upstream.locality), not the peer metadata", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    const b = await oneBatch(h, [{ info: { clusterName: OUTBOUND, upstreamLocality: { region: "ap-south-1" } }, requestHeaders: req("payments:8080"), responseHeaders: RESP_200 }]);
    assert.equal(onlyLabels(b).peer_region, "ap-south-1");
  } finally {
    h.stop();
  }
});
