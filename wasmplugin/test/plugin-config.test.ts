// The pluginConfig shipped in every plugin manifest (as generated and as the overlays render
// it) passes the filter's own configuration validation: the built filter/build/meshlat.wasm is
// configured in the project's proxy-wasm host (test/host/), as Envoy would do it.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { PLUGIN_NAME, trafficExtension, wasmPlugin } from "../src/extension.ts";
import { defaults } from "../src/settings.ts";
import { DEPLOY_DIR } from "../generate.ts";
import { renderKustomization } from "./support/kustomize.ts";
import { loadModule, startPlugin } from "../../test/host/index.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WASM = join(ROOT, "filter", "build", "meshlat.wasm");

/** Loads the built module into the host, failing loudly (not skipping) when it is missing. */
async function harness() {
  assert.ok(existsSync(WASM), `filter not built: ${WASM} (run npm run build)`);
  const module = await loadModule(new Uint8Array(readFileSync(WASM)));
  return async (configuration: string) => {
    const logs: { level: string; message: string }[] = [];
    const plugin = await startPlugin({
      module,
      configuration,
      // What istiod puts in Envoy's PluginConfig: root_id = pluginName, name = <ns>.<name>
      // (istio/istio pilot/pkg/model/extensions.go).
      rootId: PLUGIN_NAME,
      name: `${defaults.namespace}.${PLUGIN_NAME}`,
      workers: 1,
      node: {
        id: "sidecar~10.0.0.7~checkout-7d9f.shop~shop.svc.cluster.local",
        metadata: { WORKLOAD_NAME: "checkout", NAMESPACE: "shop", LABELS: { app: "checkout" } },
        locality: { region: "eu-west-1" },
      },
      clusters: {},
      onLog: (l: { level: string; message: string }) => logs.push(l),
    });
    try {
      return { accepted: plugin.accepted as boolean, logs };
    } finally {
      plugin.stop();
    }
  };
}

function shippedConfigs(): [string, unknown][] {
  const out: [string, unknown][] = [
    ["WasmPlugin (generated)", wasmPlugin(defaults).spec.pluginConfig],
    ["TrafficExtension (generated)", trafficExtension(defaults).spec.wasm.pluginConfig],
  ];
  for (const o of ["example", "example-istio-1.29"]) {
    for (const r of renderKustomization(join(DEPLOY_DIR, "overlays", o)) as any[]) {
      if (r.kind === "WasmPlugin") out.push([`overlays/${o} WasmPlugin`, r.spec.pluginConfig]);
      if (r.kind === "TrafficExtension") out.push([`overlays/${o} TrafficExtension`, r.spec.wasm.pluginConfig]);
    }
  }
  return out;
}

describe("pluginConfig accepted by the filter", () => {
  for (const [name, config] of shippedConfigs()) {
    it(name, async () => {
      const configure = await harness();
      // Istio hands pluginConfig (a protobuf Struct) to Envoy as JSON (istio/istio
      // pilot/pkg/model/extensions.go buildPluginConfig).
      const r = await configure(JSON.stringify(config));
      const bad = r.logs.filter((l) => ["warn", "error", "critical"].includes(l.level));
      assert.equal(r.accepted, true, `rejected: ${JSON.stringify(r.logs)}`);
      assert.deepEqual(bad, [], "no warnings (an unknown field is logged at warn)");
    });
  }
});

describe("the filter rejects what the manifests must never ship", () => {
  const base = wasmPlugin(defaults).spec.pluginConfig;
  const cases: [string, unknown, RegExp][] = [
    ["flush_interval_ms below 100", { ...base, flush_interval_ms: 50 }, /flush_interval_ms/],
    ["max_series above 65536", { ...base, max_series: 100000 }, /max_series/],
    ["tiers not a list", { ...base, tiers: "free" }, /tiers/],
    ["aggregator_cluster missing", { ...base, aggregator_cluster: undefined }, /aggregator_cluster/],
  ];
  for (const [name, config, field] of cases) {
    it(name, async () => {
      const configure = await harness();
      const r = await configure(JSON.stringify(config));
      assert.equal(r.accepted, false);
      assert.match(r.logs.filter((l) => l.level === "error").map((l) => l.message).join("\n"), field);
    });
  }
});

describe("the no-warning check can fail", () => {
  it("a misspelt field is accepted but warned about", async () => {
    const configure = await harness();
    const r = await configure(JSON.stringify({ ...wasmPlugin(defaults).spec.pluginConfig, max_seriess: 10 }));
    assert.equal(r.accepted, true);
    assert.ok(r.logs.some((l) => l.level === "warn" && /max_seriess/.test(l.message)), JSON.stringify(r.logs));
  });
});
