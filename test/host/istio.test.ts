// What an Istio sidecar offers a Wasm filter, as the host serves it: the inbound cluster's
// service (xds.cluster_metadata) and the downstream peer per Istio version.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "./clock.ts";
import { decodePairs } from "./pairs.ts";
import { startPlugin } from "./plugin.ts";
import { runRequest } from "./run-request.ts";
import { downstreamPeerProperties, istioClusterMetadata, istioPeerValue, type IstioPeer, type IstioPeerFormat } from "./istio.ts";
import { serializeValue, type PropertyValue } from "./property-value.ts";
import type { StreamInfo } from "./types.ts";
import { fixture, NODE } from "./test-support.ts";

async function read(paths: string[], info: StreamInfo): Promise<Map<string, { status: number; bytes: Uint8Array }>> {
  const clock = new ManualClock();
  const p = await startPlugin({ module: await fixture("probe"), configuration: "", node: NODE, clock, workers: 1 });
  const w = p.workers[0]!;
  const from = w.logs.length;
  runRequest(w, clock, {
    info,
    requestHeaders: [[":method", "GET"], [":path", "/"], [":authority", "payment:8080"], ["x-probe", paths.join(",")]],
    responseHeaders: [[":status", "200"]],
  });
  p.stop();
  const out = new Map<string, { status: number; bytes: Uint8Array }>();
  for (const l of w.logs.slice(from)) {
    const m = /^rh (\S+) (\d+):([0-9a-f]*)$/.exec(l.message);
    if (m) out.set(m[1]!, { status: Number(m[2]), bytes: Buffer.from(m[3]!, "hex") });
  }
  return out;
}

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

test("xds.cluster_metadata of an inbound cluster: the service host as a leaf, the whole as protobuf Metadata", async () => {
  const info: StreamInfo = {
    direction: "inbound",
    clusterName: "inbound|8080||",
    clusterMetadata: istioClusterMetadata([{ host: "payment.shop.svc.cluster.local", name: "payment", namespace: "shop" }]),
  };
  const r = await read(
    [
      "xds|cluster_metadata|filter_metadata|istio|services|0|host",
      "xds|cluster_metadata|filter_metadata|istio|services|0|namespace",
      "xds|cluster_metadata|filter_metadata|istio|services|1|host",
      "xds|cluster_metadata",
    ],
    info,
  );
  assert.deepEqual(r.get("xds|cluster_metadata|filter_metadata|istio|services|0|host"), { status: 0, bytes: Buffer.from("payment.shop.svc.cluster.local") });
  assert.equal(text(r.get("xds|cluster_metadata|filter_metadata|istio|services|0|namespace")!.bytes), "shop");
  assert.equal(r.get("xds|cluster_metadata|filter_metadata|istio|services|1|host")!.status, 1, "past the list: NOT_FOUND");
  const whole = r.get("xds|cluster_metadata")!;
  assert.equal(whole.status, 0);
  // Metadata{filter_metadata(1): entry{key(1) "istio", value(2) Struct}}: protobuf, not pairs.
  assert.equal(whole.bytes[0], 0x0a);
  assert.ok(text(whole.bytes).includes("istio") && text(whole.bytes).includes("payment.shop.svc.cluster.local"));
  const none = await read(["xds|cluster_metadata|filter_metadata|istio|services|0|host"], { direction: "inbound", clusterName: "inbound|8080||" });
  assert.equal(none.get("xds|cluster_metadata|filter_metadata|istio|services|0|host")!.status, 1, "a cluster without metadata: NOT_FOUND");
});

const PEER: IstioPeer = {
  workload: "checkout",
  namespace: "shop",
  name: "checkout-7d9f",
  cluster: "Kubernetes",
  type: "deployment",
  app: "checkout",
  region: "eu-west-1",
  zone: "eu-west-1a",
  labels: { role: "web" },
};

async function peer(format: IstioPeerFormat) {
  const paths = ["filter_state|downstream_peer", "filter_state|downstream_peer|workload", "filter_state|downstream_peer|namespace", "filter_state|downstream_peer|region"];
  return read(paths, { direction: "inbound", clusterName: "inbound|8080||", properties: downstreamPeerProperties(PEER, format) });
}

test("downstream peer, Istio 1.24 (WorkloadMetadataObject): whole read an empty map, leaf reads work, no region", async () => {
  const r = await peer("1.24");
  const whole = r.get("filter_state|downstream_peer")!;
  assert.equal(whole.status, 0);
  assert.deepEqual([...whole.bytes], [0, 0, 0, 0], "pairs with no entries (FilterStateObjectWrapper::ListKeys is empty)");
  assert.equal(text(r.get("filter_state|downstream_peer|workload")!.bytes), "checkout");
  assert.equal(text(r.get("filter_state|downstream_peer|namespace")!.bytes), "shop");
  assert.equal(r.get("filter_state|downstream_peer|region")!.status, 1, "no such field before 1.29");
});

test("downstream peer, Istio 1.24 on an Envoy without field access: whole read 'k=v,...', leaves NOT_FOUND", async () => {
  const r = await peer("1.24-serialized");
  assert.equal(text(r.get("filter_state|downstream_peer")!.bytes), "type=deployment,workload=checkout,name=checkout-7d9f,cluster=Kubernetes,namespace=shop,app=checkout");
  assert.equal(r.get("filter_state|downstream_peer|workload")!.status, 1);
});

test("downstream peer, Istio 1.25–1.28 (CelState Struct): whole read is a pairs map, no region; 1.29+ adds region", async () => {
  for (const [format, region] of [["1.25-1.28", undefined], ["1.29+", "eu-west-1"]] as const) {
    const r = await peer(format);
    const pairs = new Map(decodePairs(r.get("filter_state|downstream_peer")!.bytes));
    assert.equal(pairs.get("workload"), "checkout", format);
    assert.equal(pairs.get("namespace"), "shop", format);
    assert.equal(pairs.get("region"), region, format);
    assert.equal(text(r.get("filter_state|downstream_peer|workload")!.bytes), "checkout", format);
    if (region) assert.equal(text(r.get("filter_state|downstream_peer|region")!.bytes), region);
    else assert.equal(r.get("filter_state|downstream_peer|region")!.status, 1, format);
    // labels is a nested Struct: its value in the pairs is itself a pairs map.
    assert.deepEqual(decodePairs(new TextEncoder().encode(pairs.get("labels")!)), [["role", "web"]], format);
  }
});

test("the 1.29+ peer encodes once per peer value: the same bytes on every read, as a fresh encoding of an equal map gives", async () => {
  const peer: IstioPeer = { ...PEER, region: "us-east-1", labels: { team: "web" } };
  const v = istioPeerValue(peer, "1.29+");
  const first = serializeValue(v);
  assert.ok(first instanceof Uint8Array);
  // Encoded once: a second read hands out the stored encoding, not a new one.
  assert.equal(serializeValue(v), first);
  // Byte for byte what encoding an unfrozen copy gives (the observable value is unchanged).
  const copy = { ...(v as Record<string, PropertyValue>), labels: { ...((v as Record<string, PropertyValue>).labels as Record<string, string>) } };
  assert.deepEqual(serializeValue(copy), first);
  assert.notEqual(serializeValue(copy), serializeValue(copy));
  // What makes the stored encoding safe: the value (labels too) cannot change after it is set.
  assert.throws(() => { (v as Record<string, PropertyValue>).workload = "other"; }, TypeError);
  assert.throws(() => { ((v as Record<string, PropertyValue>).labels as Record<string, string>).team = "x"; }, TypeError);
  // Through the host, two streams over the same value read the same pairs.
  const info: StreamInfo = { direction: "inbound", clusterName: "inbound|8080||", properties: { "filter_state\0downstream_peer": v } };
  const a = (await read(["filter_state\0downstream_peer"], info)).get("filter_state\0downstream_peer")!;
  const b = (await read(["filter_state\0downstream_peer"], info)).get("filter_state\0downstream_peer")!;
  assert.equal(a.status, 0);
  assert.deepEqual(new Uint8Array(a.bytes), first);
  assert.deepEqual(new Uint8Array(b.bytes), first);
});
