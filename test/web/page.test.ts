// The web page in a real browser (Debian's chromium through playwright-core) over the sample
// mesh: no console errors, exactly the mesh's nodes and edges, the injected network delay shown
// as network, window and breakdown changes, keyboard reach, contrast, both layouts, an empty
// mesh, and an aggregator that stops answering. One browser for the whole file.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import { build } from "../../aggregator/src/app.ts";
import { makeConfig } from "../../aggregator/src/config.ts";
import { DEFAULT_SERVICES } from "../sidecar/mesh.ts";
import { launchChromium, startStack, type Stack } from "./stack.ts";

// The page.evaluate callbacks run in the browser; this program is typed for Node (the DOM lib
// clashes with the host's WebAssembly types), so the few DOM globals they use are declared loosely.
declare const document: any, window: any, getComputedStyle: (e: any) => any;
type HTMLElement = any;

let stack: Stack;
let browser: Browser;
before(async () => { [stack, browser] = await Promise.all([startStack(), launchChromium()]); });
after(async () => { await browser?.close(); await stack?.close(); });

const PAYMENT = "payment.shop.svc.cluster.local";

/** Console errors, uncaught exceptions, failed requests and HTTP errors the page ran into. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`exception: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  return problems;
}

/** The mesh's own topology, from its definition: the load generator (outside the mesh) → the entry service, then each service's calls. */
function expectedGraph(ns: string): { nodes: string[]; edges: string[] } {
  const fqdn = (s: string) => `${s}.${ns}.svc.cluster.local`;
  const edges = [`unknown.unknown->${fqdn(DEFAULT_SERVICES[0]!.name)}`];
  const nodes = new Set(["unknown.unknown", ...DEFAULT_SERVICES.map((s) => fqdn(s.name))]);
  for (const s of DEFAULT_SERVICES) for (const c of s.calls ?? []) { edges.push(`${s.name}.${ns}->${fqdn(c)}`); nodes.add(`${s.name}.${ns}`); }
  return { nodes: [...nodes].sort(), edges: edges.sort() };
}

/**
 * Text elements whose colour has less than 4.5:1 contrast with the background behind them (WCAG
 * AA, relative luminance per WCAG 2.x). Source text, not a function: tsx would wrap the named
 * helpers in a __name() call that does not exist in the page.
 */
const LOW_CONTRAST = `(() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { const s = v / 255; return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const bgOf = (e) => {
    for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0) return c.slice(0, 3); }
    return [255, 255, 255];
  };
  const bad = [];
  for (const e of document.querySelectorAll("body *")) {
    const own = [...e.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    const r = e.getBoundingClientRect();
    if (!own || r.width === 0 || r.height === 0) continue;
    const a = lum(rgb(getComputedStyle(e).color)), b = lum(bgOf(e));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) bad.push(e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + " " + JSON.stringify(e.textContent.trim().slice(0, 30)) + " " + ratio.toFixed(2) + ":1");
  }
  return bad;
})()`;
const lowContrast = (page: Page): Promise<string[]> => page.evaluate(LOW_CONTRAST);

/** Puts the keyboard's starting point at the top of the page (a click on the header's corner, no control). */
async function toTop(page: Page): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.mouse.click(2, 2);
}

/** Tabs through the page from the top; returns a description of every element focused, in order. */
async function tabThrough(page: Page, max = 60): Promise<string[]> {
  await toTop(page);
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const d = await page.evaluate(() => {
      const e = document.activeElement;
      return !e || e === document.body ? "" : e.id || e.getAttribute("data-edge") || e.getAttribute("href") || e.tagName;
    });
    if (d === "" || seen.includes(d)) break;
    seen.push(d);
  }
  return seen;
}

const controls = (page: Page) => page.evaluate(() =>
  [...document.querySelectorAll("select, button, a[href], input, [tabindex]:not([tabindex='-1'])")]
    .filter((e) => (e as HTMLElement).offsetParent !== null)
    .map((e) => e.id || e.getAttribute("data-edge") || e.getAttribute("href") || e.tagName));

test("the page over the sample mesh: graph, split, window, breakdown, keyboard, contrast, layouts; then the aggregator stops", { timeout: 120_000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const problems = watch(page);
  await page.goto(`${stack.agg.url}/?refresh=1&service=${PAYMENT}`);

  // The split for payment: the injected 30 ms on checkout → payment is network, and the verdict says so.
  await page.waitForFunction(() => document.querySelector("#split .group")?.getAttribute("data-verdict") === "network", null, { timeout: 60_000 });
  const group = page.locator("#split .group").first();
  assert.match(await group.locator(".verdict").innerText(), /network-bound — largest share of the mean total: network \d+/);
  const widths = await group.locator(".bar span").evaluateAll((spans) => spans.map((s) => [s.className, s.getBoundingClientRect().width] as const));
  assert.deepEqual(widths.map(([c]) => c), ["proxy", "network", "app"]);
  assert.ok(widths[1]![1] > widths[0]![1] && widths[1]![1] > widths[2]![1], `network is the widest part: ${JSON.stringify(widths)}`);
  assert.equal(await page.locator("#split-title").innerText(), "Latency split: payment.shop");

  // The graph: exactly the mesh's nodes and edges, drawn and listed.
  const want = expectedGraph(stack.mesh.namespace);
  await page.waitForFunction((n) => document.querySelectorAll("#edges tbody button").length === n, want.edges.length, { timeout: 30_000 });
  const drawn = await page.evaluate(() => {
    const cy = (document.getElementById("graph") as unknown as { _cyreg: { cy: { nodes(): { map(f: (n: { id(): string }) => string): string[] }; edges(): { map(f: (n: { id(): string }) => string): string[] } } } })._cyreg.cy;
    return { nodes: cy.nodes().map((n) => n.id()).sort(), edges: cy.edges().map((e) => e.id()).sort() };
  });
  assert.deepEqual(drawn, want);
  assert.deepEqual((await page.locator("#edges tbody button").evaluateAll((b) => b.map((x) => x.getAttribute("data-edge")))).sort(), want.edges);

  // Filter health: every pod's proxy reports.
  const health = await page.locator("#health tbody tr").evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll("td")].slice(0, 3).map((td) => td.textContent)));
  assert.deepEqual(health.map((r) => r[0]).sort(), DEFAULT_SERVICES.map((s) => `${s.name}.${stack.mesh.namespace}`).sort());
  for (const r of health) assert.equal(r[1], "1", `one proxy per pod: ${JSON.stringify(r)}`);

  // 1280×800: graph and split side by side, nothing wider than the window; readable contrast.
  const box = async (sel: string) => (await page.locator(sel).boundingBox())!;
  const [g, s] = [await box("#graph-panel"), await box("#split-panel")];
  assert.ok(g.x + g.width <= s.x && Math.abs(g.y - s.y) < 2, `side by side: ${JSON.stringify([g, s])}`);
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, "no horizontal scroll at 1280");
  assert.deepEqual(await lowContrast(page), []);

  // Changing the window: one overview call for it, the URL and the status follow.
  const asked = page.waitForRequest((r) => r.url().includes("/api/v1/overview?window=1m"));
  await page.selectOption("#window", "1m");
  await asked;
  await page.waitForFunction(() => /· 1m window/.test(document.getElementById("status")!.textContent!));
  assert.match(page.url(), /[?&]window=1m/);

  // The tier breakdown: one group per tier the load generator sends, each with its own verdict.
  await page.selectOption("#by", "user_tier");
  await page.waitForFunction(() => [...document.querySelectorAll("#split .group h3")].every((h) => h.textContent!.startsWith("tier ")) && document.querySelectorAll("#split .group").length >= 3, null, { timeout: 30_000 });
  const tiers = await page.locator("#split .group h3").allInnerTexts();
  for (const t of tiers) assert.match(t, /^tier (free|standard|premium|enterprise)$/);
  assert.match(page.url(), /[?&]by=user_tier/);

  // Live refresh keeps the selection (refresh=1: several refreshes pass).
  const before = await page.evaluate(() => document.getElementById("status")!.textContent);
  await page.waitForFunction((b) => document.getElementById("status")!.textContent !== b, before, { timeout: 10_000 });
  assert.equal(await page.locator("#service").inputValue(), PAYMENT);

  // The keyboard reaches every control, in order, with a visible focus ring; Enter on a listed
  // connection selects its service.
  const reached = await tabThrough(page);
  const all = await controls(page);
  assert.deepEqual(all.filter((c) => !reached.includes(c)), [], `not reachable by Tab: reached ${JSON.stringify(reached)}`);
  const target = "frontend.shop->checkout.shop.svc.cluster.local";
  assert.ok(reached.includes(target));
  await toTop(page);
  for (let i = 0; i < reached.indexOf(target) + 1; i++) await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute("data-edge")), target, `${JSON.stringify(reached)} ${await page.evaluate(() => document.activeElement.outerHTML)}`);
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), "none", "a visible focus ring");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.getElementById("split-title")!.textContent === "Latency split: checkout.shop");
  assert.match(page.url(), /service=checkout\.shop\.svc\.cluster\.local/);
  await page.focus("#service");
  await page.keyboard.press("ArrowDown"); // a native select: the keyboard changes the service
  await page.waitForFunction(() => document.getElementById("split-title")!.textContent !== "Latency split: checkout.shop");

  // A narrow window: one column, nothing wider than the window.
  await page.setViewportSize({ width: 390, height: 844 });
  const [g2, s2] = [await box("#graph-panel"), await box("#split-panel")];
  assert.ok(g2.y + g2.height <= s2.y, `stacked: ${JSON.stringify([g2, s2])}`);
  const wide: string[] = await page.evaluate(() => [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5 && !e.closest("#health-panel"))
    .map((e) => `${e.tagName}${e.id ? "#" + e.id : ""}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`));
  // The graph's canvas follows a resize on its own schedule: allow it a moment.
  const fits = await page.waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth, null, { timeout: 5000 }).then(() => true, () => false);
  assert.ok(fits, `no horizontal scroll at 390: ${wide.join(", ")}`);

  assert.deepEqual(problems, [], "no console errors, failed or refused requests");

  // The aggregator stops answering: the page says so and keeps the last data.
  await stack.agg.kill();
  await page.waitForFunction(() => !document.getElementById("problem")!.hidden, null, { timeout: 15_000 });
  assert.match(await page.locator("#problem").innerText(), /^The meshlat API is not answering \(connection failed\)\. Retrying every 1 s; the data shown is from /);
  assert.equal(await page.locator("#edges tbody button").count(), want.edges.length);
  await page.close();
});

test("an empty mesh shows what to check, not a blank page", { timeout: 60_000 }, async () => {
  const app = build(makeConfig({ log_level: "silent" }));
  await app.fastify.listen({ host: "127.0.0.1", port: 0 });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems = watch(page);
    await page.goto(`http://127.0.0.1:${(app.fastify.server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => !document.getElementById("empty")!.hidden);
    assert.match(await page.locator("#empty").innerText(), /^No traffic seen in the last 5m\. Check that the meshlat filter is installed/);
    assert.equal(await page.locator("#health tbody").innerText(), "No filter has reported to this aggregator yet.");
    assert.match(await page.locator("#split").innerText(), /Select a service/);
    assert.deepEqual(problems, []);
    await page.close();
  } finally { await app.fastify.close(); }
});
