// The committed wasmplugin/deploy/ is exactly what the generator produces from wasmplugin/src/.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { DEPLOY_DIR } from "../generate.ts";
import { generatedFiles } from "../src/files.ts";
import { defaults, type Settings } from "../src/settings.ts";

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? listFiles(p) : [relative(DEPLOY_DIR, p)];
  });
}

describe("generator", () => {
  const files = generatedFiles(defaults);
  for (const [rel, content] of files) {
    it(`deploy/${rel} is up to date (regenerate: node --import tsx wasmplugin/generate.ts)`, () => {
      assert.equal(readFileSync(join(DEPLOY_DIR, rel), "utf8"), content);
    });
  }
  it("deploy/ holds no file the generator does not produce", () => {
    assert.deepEqual(listFiles(DEPLOY_DIR).sort(), [...files.keys()].sort());
  });
  it("writes no YAML anchors or aliases (plain documents for every tool)", () => {
    for (const [rel, content] of files) if (rel.endsWith(".yaml")) assert.doesNotMatch(content, /:\s+[&*][A-Za-z0-9_]+\s*$/m, rel);
  });
  it("is deterministic", () => {
    assert.deepEqual(generatedFiles(defaults), files);
  });
  it("a changed setting reaches every place that depends on it", () => {
    const s: Settings = { ...defaults, namespace: "observability", plugin: { ...defaults.plugin, tiers: ["gold"] } };
    const out = generatedFiles(s);
    for (const rel of ["wasmplugin/wasmplugin.yaml", "trafficextension/trafficextension.yaml"]) {
      const text = out.get(rel)!;
      assert.match(text, /aggregator_cluster: outbound\|9464\|\|meshlat-aggregator\.observability\.svc\.cluster\.local/);
      assert.match(text, /tiers:\n\s+- gold\n/);
    }
    assert.match(out.get("telemetry/telemetry.yaml")!, /\['gold'\]/);
    assert.match(out.get("base/deployment.yaml")!, /namespace: observability/);
  });
});
