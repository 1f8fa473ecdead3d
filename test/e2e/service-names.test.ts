// The two sides of an edge must name the same service: whether the client app calls its
// callee by the Kubernetes short name (`payment:8080`) or by its FQDN, the client sidecar
// (reporter=source) and the server sidecar (reporter=destination) report the same
// destination_service, so the aggregator pairs them and splits the client's upstream time into
// network and app without any Server-Timing from the app. Two meshes (one per naming) report
// to one real aggregator.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { AggregatorProcess } from "../sidecar/aggregator-process.ts";
import { LoadGenerator } from "../sidecar/load-generator.ts";
import { Mesh } from "../sidecar/mesh.ts";
import { loadFilter } from "./stack.ts";

const REQUESTS = 80;
const NET_DELAY_MS = 40;
const APP_DELAY_MS = 30;
/** Same tolerance as timing-split.test.ts: timer jitter on a starved machine blurs the baseline. */
const near = (ms: number, want: number) => ms > want * 0.7 && ms < want + 30;

interface Group {
  reporter: string;
  source: string;
  requests: number;
  split: { network: { mean_ms: number } | null; app: { mean_ms: number } | null };
}

describe("client short name or FQDN: both reporters name the callee by its FQDN", { timeout: 120_000 }, () => {
  let aggregator: AggregatorProcess;
  const meshes = new Map<string, Mesh>();

  before(async () => {
    const module = await loadFilter();
    aggregator = await AggregatorProcess.start();
    for (const callNames of ["short", "fqdn"] as const) {
      const mesh = await Mesh.start({
        namespace: `names-${callNames}`,
        callNames,
        module,
        aggregatorUrl: aggregator.url,
        pluginConfig: { flush_interval_ms: 250 },
        networkDelayMs: { "frontend->payment": NET_DELAY_MS },
        services: [
          { name: "frontend", region: "us-east-1", delayMs: 1, calls: ["payment"] },
          { name: "payment", region: "eu-west-1", delayMs: APP_DELAY_MS, serverTiming: false },
        ],
      });
      meshes.set(callNames, mesh);
      const lg = new LoadGenerator({ ...mesh.entry(), concurrency: 2, seed: 5 });
      await lg.runCount(REQUESTS);
      lg.close();
    }
  });
  after(async () => {
    for (const m of meshes.values()) await m.close();
    await aggregator?.kill("SIGTERM");
  });

  /** meshlat_requests_total per (reporter, destination_service) for one namespace's sources and sinks. */
  async function requestsBy(ns: string): Promise<Map<string, number>> {
    const text = await (await fetch(`${aggregator.url}/metrics`)).text();
    const out = new Map<string, number>();
    for (const line of text.split("\n")) {
      if (!line.startsWith("meshlat_requests_total{")) continue;
      const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      if (labels.source_namespace !== ns || labels.source_workload !== "frontend") continue;
      const key = `${labels.reporter} ${labels.destination_service}`;
      out.set(key, (out.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
    }
    return out;
  }

  async function waitForBoth(ns: string): Promise<Map<string, number>> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const m = await requestsBy(ns);
      const total = [...m.values()].reduce((a, b) => a + b, 0);
      if (total >= 2 * REQUESTS || Date.now() > deadline) return m;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  for (const callNames of ["short", "fqdn"] as const) {
    test(`${callNames}: the source and destination reporters carry the same destination_service`, async () => {
      const ns = `names-${callNames}`;
      const fqdn = `payment.${ns}.svc.cluster.local`;
      const m = await waitForBoth(ns);
      assert.deepEqual(Object.fromEntries(m), { [`source ${fqdn}`]: REQUESTS, [`destination ${fqdn}`]: REQUESTS });
    });

    test(`${callNames}: the latency API pairs the reporters and splits network and app without Server-Timing`, async (t) => {
      const ns = `names-${callNames}`;
      await waitForBoth(ns);
      const res = await fetch(`${aggregator.url}/api/v1/latency?destination_service=payment.${ns}.svc.cluster.local&window=5m`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { groups: Group[] };
      const g = body.groups.find((x) => x.reporter === "source");
      assert.ok(g, JSON.stringify(body).slice(0, 600));
      assert.equal(g.source, "paired_reporters", JSON.stringify(g).slice(0, 600));
      const net = g.split.network!.mean_ms;
      const app = g.split.app!.mean_ms;
      t.diagnostic(`injected network ${NET_DELAY_MS} ms → ${net.toFixed(2)} ms; app ${APP_DELAY_MS} ms → ${app.toFixed(2)} ms`);
      assert.ok(near(net, NET_DELAY_MS), `network ${net.toFixed(2)} ms`);
      assert.ok(near(app, APP_DELAY_MS), `app ${app.toFixed(2)} ms`);
    });
  }
});
