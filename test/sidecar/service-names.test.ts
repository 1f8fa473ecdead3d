// How the local mesh names services the way Kubernetes clients do: apps may call a callee by
// its short name (`payment:8080`) or its FQDN; the outbound sidecar routes both to the FQDN's
// cluster as Istio does, and the inbound sidecar offers the service it serves through the
// inbound cluster's metadata, never through what the caller typed.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Mesh } from "./mesh.ts";
import { serviceFqdn } from "./sidecar.ts";

test("Istio's outbound domains: name, name.ns, name.ns.svc and the FQDN all mean the FQDN", () => {
  assert.equal(serviceFqdn("payment", "shop"), "payment.shop.svc.cluster.local");
  assert.equal(serviceFqdn("payment.billing", "shop"), "payment.billing.svc.cluster.local");
  assert.equal(serviceFqdn("payment.billing.svc", "shop"), "payment.billing.svc.cluster.local");
  assert.equal(serviceFqdn("payment.billing.svc.cluster.local", "shop"), "payment.billing.svc.cluster.local");
  assert.equal(serviceFqdn("api.example.com", "shop"), "api.example.com", "anything else is taken as written");
});

function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = http.get({ host: "127.0.0.1", port, path: "/", headers: { host } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.once("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.once("error", reject);
  });
}

test("a mesh whose apps call short names routes every hop (no filter)", async () => {
  const mesh = await Mesh.start({
    callNames: "short",
    services: [
      { name: "frontend", region: "us-east-1", calls: ["payment"] },
      { name: "payment", region: "eu-west-1", serverTiming: false },
    ],
  });
  try {
    const { port, authority } = mesh.entry();
    const r = await get(port, authority);
    assert.equal(r.status, 200);
    const body = JSON.parse(r.body) as { downstream: Record<string, number> };
    assert.deepEqual(body.downstream, { "payment:8080": 200 }, "the app called the short name and got through");
  } finally {
    await mesh.close();
  }
});
