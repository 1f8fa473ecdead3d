// GET / and its assets: versioned URLs under ui/<version>/ (immutable caching), the graph library
// from node_modules, nothing from another origin, and the page's template never served raw.
import { test } from "node:test";
import assert from "node:assert/strict";
import { testApp } from "./helpers.ts";

test("the page names only versioned, same-origin assets, and each is served with immutable caching", async () => {
  const a = testApp();
  try {
    const page = await a.get("/");
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers["content-type"]), /^text\/html/);
    assert.equal(page.headers["cache-control"], "no-cache", "the page itself is revalidated, so a new build's asset URLs are seen");
    const refs = [...page.body.matchAll(/(?:href|src)="([^"]+)"|"cytoscape": "([^"]+)"/g)].map((m) => m[1] ?? m[2]!);
    const assets = refs.filter((r) => r.startsWith("./ui/"));
    assert.deepEqual(refs.filter((r) => /^[a-z]+:|^\/\//i.test(r)), [], "no absolute or other-origin URL (no CDN; works offline)");
    assert.ok(assets.length >= 4, JSON.stringify(refs));
    const version = /^\.\/ui\/([0-9a-f]{12})\//.exec(assets[0]!)![1]!;
    for (const r of assets) {
      assert.ok(r.startsWith(`./ui/${version}/`), `one version for every asset: ${r}`);
      const res = await a.get(r.slice(1));
      assert.equal(res.statusCode, 200, r);
      assert.equal(res.headers["cache-control"], "public, max-age=31536000, immutable", r);
    }
    assert.ok(assets.some((r) => r.endsWith("/vendor/cytoscape.esm.min.mjs")), "the graph library is served from node_modules");
    // The template (unfilled placeholders), other files of the library's folder and another version are not served.
    for (const u of [`/ui/${version}/index.html`, `/ui/${version}/vendor/cytoscape.cjs.js`, `/ui/${version}/vendor/../../../package.json`, "/ui/000000000000/app.js"]) {
      const res = await a.get(u);
      assert.equal(res.statusCode, 404, u);
      assert.equal(res.json().code, "AGG_ERR_NOT_FOUND", u);
    }
    assert.doesNotMatch(page.body, /\{\{/, "every placeholder filled");
  } finally { await a.fastify.close(); }
});
