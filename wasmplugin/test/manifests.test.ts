// Every generated manifest parses and validates against the real schemas; the plugin resources
// carry the settings DESIGN.md requires; bad resources are rejected (the validators can fail).
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { DEPLOY_DIR } from "../generate.ts";
import { trafficExtension, wasmPlugin } from "../src/extension.ts";
import { defaults } from "../src/settings.ts";
import { loadCrdSchema, validateAgainstCrd } from "./support/crd-schema.ts";
import { CRD_FILES, MODELS, typeKey } from "./support/models.ts";

function manifestFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return manifestFiles(p);
    return n.endsWith(".yaml") && n !== "kustomization.yaml" && n !== "meshlat.rules.yaml" ? [p] : [];
  });
}

function validate(doc: any): string[] {
  const key = typeKey(doc);
  const errors: string[] = [];
  const Model = MODELS[key];
  const crd = CRD_FILES[key];
  if (!Model && !crd) return [`no schema known for ${key}`];
  if (Model) {
    try { new Model(doc).validate(); } catch (e) { errors.push(`kubernetes-models: ${(e as Error).message}`); }
  }
  if (crd) errors.push(...validateAgainstCrd(loadCrdSchema(crd), doc));
  return errors;
}

describe("generated manifests", () => {
  const files = manifestFiles(DEPLOY_DIR);
  it("finds the manifests", () => assert.ok(files.length >= 12, `only ${files.length} manifest files`));
  for (const file of files) {
    it(`${relative(DEPLOY_DIR, file)} parses and validates`, () => {
      const docs = parseAllDocuments(readFileSync(file, "utf8"));
      assert.ok(docs.length > 0);
      for (const d of docs) {
        assert.deepEqual(d.errors, [], "YAML errors");
        const obj = d.toJS();
        assert.deepEqual(validate(obj), [], `${obj.kind}/${obj.metadata?.name}`);
        assert.ok(obj.metadata.namespace, "namespaced resources carry a namespace");
      }
    });
  }
});

describe("plugin resources", () => {
  const te = trafficExtension(defaults);
  const wp = wasmPlugin(defaults);
  it("share one description: TrafficExtension.spec.wasm + placement == WasmPlugin.spec", () => {
    const { wasm, ...placement } = te.spec;
    assert.deepEqual({ ...placement, ...wasm }, wp.spec);
    assert.deepEqual(te.metadata, wp.metadata);
  });
  it("FAIL_OPEN, STATS, both directions, pinned sha256, oci url", () => {
    assert.equal(wp.spec.failStrategy, "FAIL_OPEN");
    assert.equal(wp.spec.phase, "STATS");
    assert.deepEqual(wp.spec.match, [{ mode: "CLIENT_AND_SERVER" }]);
    assert.match(wp.spec.sha256, /^[a-f0-9]{64}$/);
    assert.match(wp.spec.url, /^oci:\/\//);
    assert.equal(wp.spec.imagePullPolicy, "IfNotPresent");
  });
  it("aggregator_cluster is Istio's outbound cluster of the aggregator Service", () => {
    assert.equal(wp.spec.pluginConfig.aggregator_cluster, "outbound|9464||meshlat-aggregator.istio-system.svc.cluster.local");
  });
});

// Error cases: each mutation must be refused by the schema checks.
describe("validators reject bad resources", () => {
  const cases: [string, () => any, RegExp][] = [
    ["TrafficExtension with a misspelt phase", () => { const r: any = trafficExtension(defaults); r.spec.phase = "STAT"; return r; }, /phase/],
    ["TrafficExtension with module fields at spec level (WasmPlugin layout)", () => ({ ...wasmPlugin(defaults), kind: "TrafficExtension" }), /additional properties|wasm or lua/],
    ["TrafficExtension with a short sha256", () => { const r: any = trafficExtension(defaults); r.spec.wasm.sha256 = "abc"; return r; }, /sha256/],
    ["TrafficExtension with selector and targetRefs", () => { const r: any = trafficExtension(defaults); r.spec.selector = { matchLabels: { a: "b" } }; r.spec.targetRefs = [{ kind: "Gateway", name: "g" }]; return r; }, /only one of targetRefs or selector/],
    ["TrafficExtension with an ftp url", () => { const r: any = trafficExtension(defaults); r.spec.wasm.url = "ftp://x/y"; return r; }, /url must have schema/],
    ["WasmPlugin with an unknown match mode", () => { const r: any = wasmPlugin(defaults); r.spec.match = [{ mode: "BOTH" }]; return r; }, /mode|allowed values/],
    ["WasmPlugin with a typo field", () => { const r: any = wasmPlugin(defaults); r.spec.failStrategyy = "FAIL_OPEN"; return r; }, /additional properties/],
    ["WasmPlugin without url", () => { const r: any = wasmPlugin(defaults); delete r.spec.url; return r; }, /url/],
    ["Deployment with a string replica count", () => ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" }, spec: { replicas: "two", selector: {}, template: {} } }), /replicas/],
    ["PrometheusRule rule without expr", () => ({ apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: { name: "x" }, spec: { groups: [{ name: "g", rules: [{ alert: "A" }] }] } }), /expr/],
  ];
  for (const [name, make, re] of cases) {
    it(name, () => {
      const errors = validate(make());
      assert.ok(errors.length > 0, "expected a validation error");
      assert.match(errors.join("\n"), re);
    });
  }
});
