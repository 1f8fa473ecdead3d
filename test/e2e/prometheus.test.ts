// The Prometheus harness itself: its generated config passes promtool, and a missing binary
// is a clear, coded error rather than a hang or an ENOENT.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findPrometheus, PrometheusNotFoundError, renderConfig } from "./prometheus.ts";

test("the generated scrape config is valid for promtool", () => {
  const dir = mkdtempSync(join(tmpdir(), "meshlat-promcfg-"));
  try {
    const file = join(dir, "prometheus.yml");
    writeFileSync(file, renderConfig([{ job: "meshlat-aggregator", targets: ["127.0.0.1:9464"] }, { job: "payment", targets: ["127.0.0.1:1"], labels: { app: "payment" } }]));
    const r = spawnSync("promtool", ["check", "config", file], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("prometheus missing from PATH is reported with its code", () => {
  const saved = process.env.PATH;
  process.env.PATH = "/nonexistent";
  try {
    assert.throws(() => findPrometheus(), (e: unknown) => e instanceof PrometheusNotFoundError && e.code === "E2E_ERR_NO_PROMETHEUS" && /not on PATH/.test(e.message));
  } finally {
    process.env.PATH = saved;
  }
  assert.match(findPrometheus(), /prometheus$/);
});
