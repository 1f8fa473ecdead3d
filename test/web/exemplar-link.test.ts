// The page links a service's slowest traced requests to the tracing backend: an aggregator with
// trace_url_template receives wire v2 batches whose series carry exemplars (the reference
// encoder, test/support/batch-builder.ts), and Chromium (playwright-core + Debian's chromium)
// shows each trace id as a link to the template's URL, slowest first; without a template the
// ids are plain text, and a group without traced requests lists none.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { build } from "../../aggregator/src/app.ts";
import type { App } from "../../aggregator/src/app.ts";
import { makeConfig } from "../../aggregator/src/config.ts";
import { buildBatch, requests } from "../support/batch-builder.ts";
import { launchChromium } from "./stack.ts";

declare const document: any;

const SVC = "checkout.shop.svc.cluster.local";
const SLOW = "4bf92f3577b34da6a3ce929d0e0e4736";
const B3 = "a3ce929d0e0e4736";
const TEMPLATE = "http://jaeger.example:16686/jaeger/trace/{trace_id}";

let browser: Browser;
before(async () => { browser = await launchChromium(); });
after(async () => { await browser?.close(); });

async function aggregatorWithTraffic(template: string): Promise<{ app: App; url: string }> {
  const app = build(makeConfig({ log_level: "silent", shed_event_loop_delay_ms: 0, caller_identity: "off", trace_url_template: template }));
  await app.fastify.listen({ host: "127.0.0.1", port: 0 });
  const now = Date.now();
  const body = buildBatch({ v: 2, series: [
    { ...requests(30, { requestMs: 20, upstreamMs: 15 }, { user_tier: "premium" }), exemplar: { traceId: B3, valueUs: 20_000, timeMs: now - 500 } },
    { ...requests(1, { requestMs: 900, upstreamMs: 880 }, { user_tier: "premium", response_code: "504" }), exemplar: { traceId: SLOW, valueUs: 900_000, timeMs: now - 300 } },
    requests(30, { requestMs: 10, upstreamMs: 8 }, { user_tier: "free" }), // no trace header
  ] });
  const r = await app.fastify.inject({ method: "POST", url: "/v1/batches", headers: { "content-type": "application/msgpack" }, payload: Buffer.from(body) });
  assert.equal(r.statusCode, 204, r.body);
  return { app, url: `http://127.0.0.1:${(app.fastify.server.address() as AddressInfo).port}` };
}

test("the page links the slowest traced requests through trace_url_template, slowest first", { timeout: 60_000 }, async () => {
  const { app, url } = await aggregatorWithTraffic(TEMPLATE);
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    await page.goto(`${url}/?by=user_tier&service=${SVC}`);
    await page.waitForFunction(() => document.querySelectorAll("#split .group").length === 2);
    const groups = await page.evaluate(() => [...document.querySelectorAll("#split .group")].map((g: any) => ({
      name: g.querySelector("h3").textContent,
      links: [...g.querySelectorAll(".slowest a")].map((a: any) => ({ href: a.getAttribute("href"), text: a.textContent, target: a.getAttribute("target"), rel: a.getAttribute("rel") })),
      slowest: g.querySelector(".slowest")?.textContent ?? null,
    })));
    const premium = groups.find((g: { name: string }) => g.name === "tier premium")!;
    assert.deepEqual(premium.links, [
      { href: TEMPLATE.replace("{trace_id}", SLOW), text: SLOW, target: "_blank", rel: "noopener noreferrer" },
      { href: TEMPLATE.replace("{trace_id}", B3), text: B3, target: "_blank", rel: "noopener noreferrer" },
    ]);
    assert.match(premium.slowest!, /900\.0 ms/);
    const free = groups.find((g: { name: string }) => g.name === "tier free")!;
    assert.deepEqual(free.links, []);
    assert.equal(free.slowest, null, "no traced request: no list");
    assert.deepEqual(errors, []);
    await page.close();
  } finally { await app.fastify.close(); }
});

test("without trace_url_template the trace ids are shown as text, not links", { timeout: 60_000 }, async () => {
  const { app, url } = await aggregatorWithTraffic("");
  try {
    const page = await browser.newPage();
    await page.goto(`${url}/?service=${SVC}`);
    await page.waitForFunction(() => document.querySelector("#split .slowest") !== null);
    assert.equal(await page.locator("#split .slowest a").count(), 0);
    assert.deepEqual(await page.locator("#split .slowest code").allTextContents(), [SLOW, B3]);
    await page.close();
  } finally { await app.fastify.close(); }
});
