// Test utilities: an app under test with an injected clock, batch posting, and a strict
// Prometheus text / OpenMetrics parser that checks family grouping and histogram invariants.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { build } from "../src/app.ts";
import type { App, BuildOptions } from "../src/app.ts";
import { makeConfig } from "../src/config.ts";
import type { ConfigKey } from "../src/config.ts";

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

export interface TestApp extends App {
  clock: { now: number };
  post(body: Uint8Array | string, contentType?: string): Promise<{ statusCode: number; json: () => any; body: string }>;
  scrape(accept?: string): Promise<string>;
  get(url: string): Promise<{ statusCode: number; json: () => any; body: string; headers: Record<string, unknown> }>;
}

export function testApp(overrides: Partial<Record<ConfigKey, number | string>> = {}, opts: BuildOptions = {}): TestApp {
  const clock = { now: T0 };
  const app = build(makeConfig({ log_level: "silent", shed_event_loop_delay_ms: 0, shed_ingest_busy_percent: 0, caller_identity: "off", ...overrides }), { now: () => clock.now, ...opts });
  return {
    ...app,
    clock,
    post: (body, contentType = "application/msgpack") =>
      app.fastify.inject({ method: "POST", url: "/v1/batches", headers: { "content-type": contentType }, payload: typeof body === "string" ? body : Buffer.from(body) }),
    scrape: async (accept) => (await app.fastify.inject({ method: "GET", url: "/metrics", headers: accept ? { accept } : {} })).body,
    get: (url) => app.fastify.inject({ method: "GET", url }),
  };
}

/** A batch window ending at the app's current clock. */
export const windowAt = (now: number): [number, number] => [now - 1000, now];

export interface Parsed {
  families: Map<string, { type: string; help: string }>;
  /** `name{a="x",b="y"}` (labels sorted) → value. */
  samples: Map<string, number>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function parseLabels(s: string, line: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  while (i < s.length) {
    const eq = s.indexOf("=", i);
    assert.ok(eq > i, `bad labels in: ${line}`);
    const name = s.slice(i, eq);
    assert.match(name, /^[a-zA-Z_][a-zA-Z0-9_]*$/, `bad label name in: ${line}`);
    assert.equal(s[eq + 1], '"', `unquoted label value in: ${line}`);
    let j = eq + 2, v = "";
    for (; j < s.length && s[j] !== '"'; j++) {
      if (s[j] === "\\") {
        const n = s[++j];
        assert.ok(n === "\\" || n === '"' || n === "n", `bad escape in: ${line}`);
        v += n === "n" ? "\n" : n;
      } else v += s[j];
    }
    assert.equal(s[j], '"', `unterminated label value in: ${line}`);
    assert.ok(!out.some(([k]) => k === name), `duplicate label ${name} in: ${line}`);
    out.push([name, v]);
    i = j + 1;
    if (s[i] === ",") i++;
  }
  return out;
}

export function seriesId(name: string, labels: Record<string, string>): string {
  const ks = Object.keys(labels).sort();
  return `${name}{${ks.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(",")}}`;
}

/** Strict parser for the subset we emit; throws (assert) on anything malformed. */
export function parseExposition(text: string, om = false): Parsed {
  const families = new Map<string, { type: string; help: string }>();
  const samples = new Map<string, number>();
  const lines = text.split("\n");
  assert.equal(lines.pop(), "", "exposition must end with a newline");
  if (om) assert.equal(lines.pop(), "# EOF", "OpenMetrics must end with # EOF");
  let current: string | undefined;
  const closed = new Set<string>();
  for (const line of lines) {
    if (!om && line === "") continue;
    assert.notEqual(line, "# EOF", "# EOF only at the end");
    const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (m) {
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      assert.match(name, NAME);
      if (current !== name) {
        if (current) closed.add(current);
        assert.ok(!closed.has(name), `family ${name} is not contiguous`);
        current = name;
        if (!families.has(name)) families.set(name, { type: "untyped", help: "" });
      }
      const f = families.get(name)!;
      if (kind === "TYPE") {
        assert.ok(["counter", "gauge", "histogram"].includes(rest), `type ${rest}`);
        if (om && rest === "counter") assert.ok(!name.endsWith("_total"), `OpenMetrics counter family ${name} must not end in _total`);
        f.type = rest;
      } else f.help = rest;
      continue;
    }
    assert.ok(!line.startsWith("#"), `unexpected comment: ${line}`);
    // `s`: a label value may hold a raw CR (the text format escapes only backslash, quote and LF).
    const sm = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/s.exec(line);
    assert.ok(sm, `malformed sample: ${line}`);
    const [, name, lt, vs] = sm as unknown as [string, string, string | undefined, string];
    assert.ok(current, `sample before any TYPE: ${line}`);
    const fam = families.get(current)!;
    const suffixes = fam.type === "histogram" ? ["_bucket", "_sum", "_count"] : fam.type === "counter" ? (om ? ["_total"] : [""]) : [""];
    assert.ok(suffixes.some((sfx) => name === current + sfx), `sample ${name} outside its family ${current}`);
    const value = vs === "+Inf" ? Infinity : vs === "-Inf" ? -Infinity : Number(vs);
    assert.ok(vs === "NaN" || !Number.isNaN(value), `bad value in: ${line}`);
    const labels = Object.fromEntries(lt ? parseLabels(lt, line) : []);
    const id = seriesId(name, labels);
    assert.ok(!samples.has(id), `duplicate sample ${id}`);
    samples.set(id, value);
  }
  checkHistograms(families, samples);
  return { families, samples };
}

/** Buckets cumulative and non-decreasing in le; +Inf bucket equals _count. */
function checkHistograms(families: Parsed["families"], samples: Map<string, number>): void {
  const groups = new Map<string, { le: number; v: number }[]>();
  for (const [id, v] of samples) {
    const m = /^(\w+)_bucket\{(.*)\}$/.exec(id);
    if (!m || families.get(m[1]!)?.type !== "histogram") continue;
    const labels: Record<string, string> = JSON.parse(`{${m[2]!.replace(/(\w+)=/g, '"$1":')}}`);
    const le = labels.le!;
    delete labels.le;
    const key = seriesId(m[1]!, labels);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push({ le: le === "+Inf" ? Infinity : Number(le), v });
  }
  for (const [key, g] of groups) {
    g.sort((a, b) => a.le - b.le);
    for (let i = 1; i < g.length; i++) assert.ok(g[i]!.v >= g[i - 1]!.v, `${key}: buckets not cumulative`);
    assert.equal(g[g.length - 1]!.le, Infinity, `${key}: no +Inf bucket`);
    const countId = key.replace(/^(\w+)\{/, "$1_count{");
    assert.equal(samples.get(countId), g[g.length - 1]!.v, `${key}: +Inf bucket != _count`);
  }
}

/** Sample value by metric name and labels (undefined when absent). */
export function sample(p: Parsed, name: string, labels: Record<string, string> = {}): number | undefined {
  return p.samples.get(seriesId(name, labels));
}

/**
 * Runs `promtool check metrics` on the text. A parse error fails (exit 1); lint findings
 * (exit 3) fail too unless every one matches `allowedLint` — DESIGN.md fixes the histograms'
 * unit as milliseconds, which promtool's "use base unit seconds" lint flags.
 */
export const MS_UNIT_LINT = /^meshlat_\w+_duration_milliseconds use base unit "seconds" instead of "milliseconds"$/;
export function promtoolCheck(text: string, allowedLint: RegExp[] = [MS_UNIT_LINT]): void {
  try {
    execFileSync("/usr/bin/promtool", ["check", "metrics"], { input: text, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    const lines = `${err.stdout ?? ""}${err.stderr ?? ""}`.split("\n").filter(Boolean);
    if (err.status === 3 && lines.length > 0 && lines.every((l) => allowedLint.some((re) => re.test(l)))) return;
    throw new Error(`promtool check metrics failed (${err.status}): ${lines.join("\n")}`, { cause: e });
  }
}
