// The container build files are right where they can be checked without a container engine:
// the filter image is one layer holding /plugin.wasm (Istio's compat layout), the aggregator
// image runs as the Deployment's user on its port, and the aggregator build recipe (the
// Dockerfile's esbuild line) yields a bundle that really starts and answers /healthz.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { deployment } from "../src/aggregator.ts";
import { defaults } from "../src/settings.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const IMAGE_DIR = join(ROOT, "wasmplugin", "image");
const instructions = (file: string) =>
  readFileSync(join(IMAGE_DIR, file), "utf8").split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"))
    .join("\n").replace(/\\\n\s*/g, " ").split("\n");

// Inside the repository (.tmp/ is gitignored) so the bundle resolves node_modules like /app does.
mkdirSync(join(ROOT, ".tmp"), { recursive: true });
const work = mkdtempSync(join(ROOT, ".tmp", "image-"));
after(() => rmSync(work, { recursive: true, force: true }));

describe("filter image", () => {
  const lines = instructions("filter.Dockerfile");
  it("is FROM scratch with exactly one layer: /plugin.wasm", () => {
    assert.equal(lines[0], "FROM scratch");
    const layerOps = lines.filter((l) => /^(COPY|ADD|RUN)\b/.test(l));
    assert.deepEqual(layerOps, ["COPY meshlat.wasm /plugin.wasm"]);
  });
});

describe("aggregator image", () => {
  const lines = instructions("aggregator.Dockerfile");
  const pod = deployment(defaults).spec.template.spec;
  it("runs as the Deployment's non-root user, on the aggregator port", () => {
    assert.ok(lines.includes(`USER ${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`));
    assert.ok(lines.includes(`EXPOSE ${defaults.aggregatorPort}`));
    assert.ok(lines.some((l) => l.startsWith("FROM gcr.io/distroless/nodejs20-")), "Node 20 runtime");
  });

  it("its build recipe produces a bundle that starts and serves /healthz", async () => {
    const build = lines.find((l) => l.startsWith("RUN node_modules/.bin/esbuild"));
    assert.ok(build, "esbuild step in the Dockerfile");
    const out = join(work, "aggregator.mjs");
    const args = build.replace(/^RUN node_modules\/\.bin\/esbuild /, "").replace(/--outfile=\S+/, `--outfile=${out}`).split(/\s+/);
    const r = spawnSync(join(ROOT, "node_modules", ".bin", "esbuild"), args, { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);

    // The page's files go beside the bundle, as the Dockerfile copies them.
    const uiCopy = lines.find((l) => /^COPY aggregator\/ui \.\/ui$/.test(l));
    assert.ok(uiCopy, "the Dockerfile copies aggregator/ui beside the bundle");
    cpSync(join(ROOT, "aggregator", "ui"), join(work, "ui"), { recursive: true });

    // Port 0 (ephemeral) on loopback; the process is killed whatever happens.
    const child = spawn(process.execPath, [out], { cwd: ROOT, env: { ...process.env, MESHLAT_PORT: "0", MESHLAT_HOST: "127.0.0.1" }, stdio: ["ignore", "pipe", "pipe"] });
    try {
      let output = "";
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listen line within 10 s:\n${output}`)), 10_000);
        const onData = (b: Buffer) => {
          output += b.toString();
          const m = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
          if (m) { clearTimeout(timer); resolve(Number(m[1])); }
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`exited ${code}:\n${output}`)); });
      });
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(res.status, 200);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(page.status, 200, "the web page");
      const css = /href="\.\/(ui\/[0-9a-f]+\/style\.css)"/.exec(await page.text());
      assert.ok(css, "the page names its versioned stylesheet");
      assert.equal((await fetch(`http://127.0.0.1:${port}/${css[1]}`)).status, 200, "assets served from the bundle's ui/");
    } finally {
      child.kill("SIGKILL");
    }
  });
});
