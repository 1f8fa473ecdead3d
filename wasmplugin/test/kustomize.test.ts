// The kustomize overlays render the values a user overrides (namespace, images, tiers), checked
// with a minimal renderer (support/kustomize.ts), and cross-checked with the real kustomize
// (`kubectl kustomize`) when kubectl is installed.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { parseAllDocuments } from "yaml";
import { DEPLOY_DIR } from "../generate.ts";
import { renderKustomization, type Resource } from "./support/kustomize.ts";

const find = (rs: Resource[], kind: string) => {
  const r = rs.find((x) => x.kind === kind);
  assert.ok(r, `${kind} rendered`);
  return r as any;
};

let work = "";
before(() => {
  // A copy, so the test can change the overlay like a user would.
  work = mkdtempSync(join(tmpdir(), "meshlat-kustomize-"));
  cpSync(DEPLOY_DIR, work, { recursive: true });
  for (const o of ["example", "example-istio-1.29"]) {
    const p = join(work, "overlays", o, "kustomization.yaml");
    writeFileSync(p, readFileSync(p, "utf8").replace(/^namespace: istio-system$/m, "namespace: observability"));
  }
});
after(() => rmSync(work, { recursive: true, force: true }));

const cases: { name: string; dir: string; ns: string; kind: "TrafficExtension" | "WasmPlugin" }[] = [
  { name: "example (TrafficExtension), as committed", dir: join(DEPLOY_DIR, "overlays/example"), ns: "istio-system", kind: "TrafficExtension" },
  { name: "example-istio-1.29 (WasmPlugin), as committed", dir: join(DEPLOY_DIR, "overlays/example-istio-1.29"), ns: "istio-system", kind: "WasmPlugin" },
  { name: "example with the namespace changed", dir: "overlays/example", ns: "observability", kind: "TrafficExtension" },
  { name: "example-istio-1.29 with the namespace changed", dir: "overlays/example-istio-1.29", ns: "observability", kind: "WasmPlugin" },
];

describe("kustomize overlays", () => {
  for (const c of cases) {
    it(c.name, () => {
      const rs = renderKustomization(c.dir.startsWith("/") ? c.dir : join(work, c.dir));
      assert.equal(rs.length, 11);
      for (const r of rs) assert.equal(r.metadata.namespace, c.ns, `${r.kind} namespace`);
      const plugin = find(rs, c.kind);
      const mod = c.kind === "TrafficExtension" ? plugin.spec.wasm : plugin.spec;
      assert.equal(mod.pluginConfig.aggregator_cluster, `outbound|9464||meshlat-aggregator.${c.ns}.svc.cluster.local`);
      assert.deepEqual(mod.pluginConfig.tiers, ["free", "pro", "enterprise"]);
      assert.equal(mod.url, "oci://registry.example.com/platform/meshlat-filter:0.1.0");
      assert.match(mod.sha256, /^[a-f0-9]{64}$/);
      assert.equal(mod.failStrategy, "FAIL_OPEN");
      assert.equal(find(rs, "Deployment").spec.template.spec.containers[0].image, "registry.example.com/platform/meshlat-aggregator:0.1.0");
    });
  }

  it("the renderer refuses kustomize features it does not implement", () => {
    const p = join(work, "overlays", "example", "kustomization.yaml");
    const original = readFileSync(p, "utf8");
    try {
      writeFileSync(p, original + "commonLabels:\n  a: b\n");
      assert.throws(() => renderKustomization(join(work, "overlays", "example")), /commonLabels/);
    } finally {
      writeFileSync(p, original);
    }
  });

  // `replacements` needs kustomize >= v4.1; Debian's kubernetes-client (kubectl 1.20) embeds v2.
  const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
  const kustomizeMajor = Number(/Kustomize Version: v(\d+)/.exec(kubectl.stdout ?? "")?.[1] ?? 0);
  const skip = kubectl.status !== 0 ? "kubectl not installed" : kustomizeMajor < 5 ? `kubectl embeds kustomize v${kustomizeMajor || "?"} (< v5)` : false;
  for (const c of cases) {
    it(`matches kubectl kustomize: ${c.name}`, { skip: skip ? `${skip}; the minimal renderer above still checks the overlays` : false }, () => {
      const dir = c.dir.startsWith("/") ? c.dir : join(work, c.dir);
      const mine = renderKustomization(dir);
      const real = parseAllDocuments(execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8" })).map((d) => d.toJS() as Resource);
      const key = (r: Resource) => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;
      const byKey = new Map(real.map((r) => [key(r), r]));
      assert.equal(real.length, mine.length);
      for (const r of mine) assert.ok(isDeepStrictEqual(r, byKey.get(key(r))), `${key(r)} differs from kubectl kustomize`);
    });
  }
});
