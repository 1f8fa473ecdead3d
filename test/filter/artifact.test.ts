// The shipped artifact: filter/build/meshlat.wasm imports only what Envoy provides (the host's
// copy of the list, test/host/envoy-imports.json, cites its source), exports the ABI marker
// and malloc, stays within 64 KiB; and the per-request host-call budget of DESIGN.md holds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { ENVOY_IMPORTS, runRequest } from "../host/index.ts";
import { filterModule, harness, WASM_PATH, BASE_CONFIG, OUTBOUND, INBOUND } from "./helpers.ts";

test("every import of the built module is an Envoy host function", async () => {
  const mod = new WebAssembly.Module(readFileSync(WASM_PATH));
  const imports = WebAssembly.Module.imports(mod);
  assert.ok(imports.length > 0);
  for (const i of imports) {
    assert.equal(i.kind, "function", `${i.module}.${i.name}`);
    assert.ok(ENVOY_IMPORTS.has(`${i.module}.${i.name}`), `${i.module}.${i.name} is not provided by Envoy`);
  }
  // logging goes through proxy_log, timing through WASI clock_time_get
  const names = imports.map((i) => `${i.module}.${i.name}`);
  assert.ok(names.includes("env.proxy_log"));
  assert.ok(names.includes("wasi_snapshot_preview1.clock_time_get"));
  const exports = WebAssembly.Module.exports(mod).map((e) => e.name);
  for (const e of ["proxy_abi_version_0_2_1", "malloc", "proxy_on_context_create", "proxy_on_log", "proxy_on_done", "proxy_on_delete", "proxy_on_tick", "proxy_on_http_call_response", "proxy_on_configure"]) {
    assert.ok(exports.includes(e), e);
  }
  await filterModule(); // the host accepts it too
});

test("optimized module is at most 64 KiB", () => {
  const size = statSync(WASM_PATH).size;
  assert.ok(size <= 64 * 1024, `${size} bytes`);
});

const hdrs = [[":method", "GET"], [":path", "/"], [":authority", "payments:8080"], ["x-user-tier", "premium"]] as [string, string][];
const resp = [[":status", "200"], ["server-timing", "app;dur=3"], ["content-type", "application/json"]] as [string, string][];

const traced = [...hdrs, ["traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"], ["x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"], ["x-b3-sampled", "1"]] as [string, string][];
const budgets: { name: string; cluster: string; max: number; body: boolean; headers?: [string, string][]; expect: Record<string, number> }[] = [
  {
    name: "typical outbound (200, Server-Timing, no body)", cluster: OUTBOUND, max: 8, body: false,
    expect: {
      // on_request_headers: clock (t0, = t1 at end of stream) + tier header
      // on_response_headers: clock (t2, = t3 at end of stream) + the header map as pairs
      //   (:status and server-timing in one call)
      // on_log: cluster name, upstream locality, response.flags
      "wasi_snapshot_preview1.clock_time_get": 2, "env.proxy_get_header_map_value": 1,
      "env.proxy_get_header_map_pairs": 1, "env.proxy_get_property": 3,
    },
  },
  {
    // traced traffic: on_request_headers reads the whole request-header map instead of the tier
    // header's value, tier and trace id in one call (test/filter/exemplar.test.ts)
    name: "typical outbound with trace headers", cluster: OUTBOUND, max: 8, body: false, headers: traced,
    expect: { "wasi_snapshot_preview1.clock_time_get": 2, "env.proxy_get_header_map_pairs": 2, "env.proxy_get_property": 3 },
  },
  {
    name: "typical outbound with a response body (t3 needs its own clock read)", cluster: OUTBOUND, max: 8, body: true,
    expect: {
      "wasi_snapshot_preview1.clock_time_get": 3, "env.proxy_get_header_map_value": 1,
      "env.proxy_get_header_map_pairs": 1, "env.proxy_get_property": 3,
    },
  },
  {
    name: "inbound with a body (adds :authority, mTLS, the downstream peer; no locality)", cluster: INBOUND, max: 10, body: true,
    expect: {
      "wasi_snapshot_preview1.clock_time_get": 3, "env.proxy_get_header_map_value": 2,
      "env.proxy_get_header_map_pairs": 1, "env.proxy_get_property": 4,
    },
  },
];

for (const b of budgets) {
  test(`host calls per request: ${b.name} <= ${b.max}`, async () => {
    const h = await harness(BASE_CONFIG);
    try {
      const vm = h.plugin.workers[0]!;
      const spec = {
        info: {
          clusterName: b.cluster, upstreamLocality: { region: "us-east-1" }, mtls: true,
          properties: { "filter_state\u0000downstream_peer": { workload: "web", namespace: "shop", name: "web-1", labels: { app: "web" } } },
        },
        requestHeaders: b.headers ?? hdrs, responseHeaders: resp, upstreamMs: 3,
        ...(b.body ? { responseBody: "x".repeat(512), responseMs: 1 } : {}),
      };
      for (let i = 0; i < 100; i++) runRequest(vm, h.clock, spec);
      vm.resetHostCalls();
      for (let i = 0; i < 10; i++) runRequest(vm, h.clock, spec);
      const per = Object.fromEntries([...vm.hostCalls].map(([k, v]) => [k, v / 10]));
      assert.deepEqual(per, b.expect);
      assert.ok(Object.values(per).reduce((a, x) => a + x, 0) <= b.max);
    } finally {
      h.stop();
    }
  });
}
