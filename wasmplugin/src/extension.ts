// WasmPlugin (Istio <= 1.29) and TrafficExtension (Istio >= 1.30) built from one description,
// so the two cannot drift. Field names and enums follow the CRDs kept in wasmplugin/schemas/
// (istio/api v1.30.3): TrafficExtension nests the module settings under `spec.wasm`, WasmPlugin
// keeps them at `spec` top level; selector/match/phase/priority are shared.
import { pluginConfig } from "./plugin-config.ts";
import { aggregatorCluster } from "./settings.ts";
import type { Settings } from "./settings.ts";

export const PLUGIN_NAME = "meshlat";

/** Module settings shared by both kinds (WasmPlugin spec / TrafficExtension spec.wasm). */
function moduleSpec(s: Settings) {
  return {
    // Tag for humans, digest for Istio: with `sha256` set, istio-agent verifies the pulled
    // image's manifest digest and caches by it (pkg/wasm/cache.go).
    url: `oci://${s.filterImage}`,
    sha256: s.filterImageDigest,
    imagePullPolicy: "IfNotPresent",
    // FAIL_OPEN: the default FAIL_CLOSE turns a failed module fetch into a deny-all RBAC filter
    // (every request 403) and a VM crash into 503s (pkg/wasm/convert.go; wasm.proto FailStrategy).
    // Telemetry must never take traffic down.
    failStrategy: "FAIL_OPEN",
    pluginName: PLUGIN_NAME,
    type: "HTTP",
    pluginConfig: pluginConfig(s.plugin, aggregatorCluster(s)),
  };
}

/** Placement shared by both kinds. */
function placement() {
  return {
    // STATS: after authn/authz, so denied requests are still seen (Envoy calls on_log for them)
    // but the filter runs beside istio.stats, not in front of policy (listener_builder.go order).
    phase: "STATS",
    // Both directions: CLIENT gives reporter=source (outbound + gateways), SERVER gives
    // reporter=destination (inbound); the latency split pairs the two (DESIGN.md).
    match: [{ mode: "CLIENT_AND_SERVER" }],
  };
}

function metadata(s: Settings) {
  return {
    name: PLUGIN_NAME,
    namespace: s.namespace,
    labels: { "app.kubernetes.io/name": "meshlat", "app.kubernetes.io/component": "filter" },
  };
}

export function wasmPlugin(s: Settings) {
  return {
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "WasmPlugin",
    metadata: metadata(s),
    spec: { ...placement(), ...moduleSpec(s) },
  };
}

export function trafficExtension(s: Settings) {
  return {
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "TrafficExtension",
    metadata: metadata(s),
    spec: { ...placement(), wasm: moduleSpec(s) },
  };
}
