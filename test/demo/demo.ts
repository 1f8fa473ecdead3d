// `npm run demo`: the aggregator (127.0.0.1), the sample mesh frontend → checkout → payment
// running the built filter, and a load generator; prints where to look and a live table of
// p99 proxy / network / app per service and tier with the aggregator's verdict.
// Ctrl-C stops everything. `--duration <s>` runs non-interactively and exits.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadModule } from "../host/index.ts";
import { AggregatorProcess } from "../sidecar/aggregator-process.ts";
import { LoadGenerator } from "../sidecar/load-generator.ts";
import { DEFAULT_SERVICES, Mesh, type ServiceSpec } from "../sidecar/mesh.ts";
import { freePort, portFree } from "../support/net.ts";
import { sleep } from "../support/poll.ts";
import { fetchLatency, renderTable } from "./demo-table.ts";

const HELP = `usage: npm run demo -- [options]
  --duration <s>          stop after s seconds (default: run until Ctrl-C)
  --port <n>              aggregator port (default 9464; 0 or busy: a free port)
  --rps <n>               load, requests per second (default 60)
  --refresh <s>           table refresh period (default 3)
  --app-delay svc=ms      injected application delay (repeatable)
  --net-delay a->b=ms     injected network delay on the hop a → b (repeatable;
                          default checkout->payment=30, the cross-region hop)
  --error-rate svc=r      fraction of requests svc answers with 500 (repeatable)
  --region svc=name       region of a service (repeatable; default payment in eu-west-1)
  --tiers t=w,...         x-user-tier mix (default free=5,standard=3,premium=1.5,enterprise=0.5)
`;

function pairs(values: string[] | undefined, sep = "="): [string, string][] {
  return (values ?? []).map((v) => {
    const i = v.lastIndexOf(sep);
    if (i <= 0) throw new Error(`expected key${sep}value, got ${JSON.stringify(v)}`);
    return [v.slice(0, i), v.slice(i + 1)];
  });
}

function num(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${what}: not a non-negative number: ${JSON.stringify(v)}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: "string" },
      port: { type: "string", default: "9464" },
      rps: { type: "string", default: "60" },
      refresh: { type: "string", default: "3" },
      "app-delay": { type: "string", multiple: true },
      "net-delay": { type: "string", multiple: true },
      "error-rate": { type: "string", multiple: true },
      region: { type: "string", multiple: true },
      tiers: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return void process.stdout.write(HELP);

  const services: ServiceSpec[] = DEFAULT_SERVICES.map((s) => ({ ...s }));
  const byName = (n: string) => services.find((s) => s.name === n) ?? fail(`unknown service ${n} (known: ${services.map((s) => s.name).join(", ")})`);
  for (const [s, v] of pairs(values["app-delay"])) byName(s).delayMs = num(v, "--app-delay");
  for (const [s, v] of pairs(values["error-rate"])) byName(s).errorRate = num(v, "--error-rate");
  for (const [s, v] of pairs(values.region)) byName(s).region = v;
  // payment sits in another region: its hop carries a cross-region round trip by default.
  const networkDelayMs: Record<string, number> = { "checkout->payment": 30 };
  for (const [hop, v] of pairs(values["net-delay"])) {
    const [a, b] = hop.split("->");
    byName(a);
    byName(b ?? "");
    networkDelayMs[`${a}->${b}`] = num(v, "--net-delay");
  }
  const tiers = values.tiers ? Object.fromEntries(pairs(values.tiers.split(",")).map(([k, v]) => [k, num(v, "--tiers")])) : undefined;
  const duration = values.duration === undefined ? undefined : num(values.duration, "--duration");
  const refreshMs = num(values.refresh!, "--refresh") * 1000;

  let port = num(values.port!, "--port");
  if (port === 0 || !(await portFree(port))) {
    const asked = port;
    port = await freePort();
    if (asked !== 0) console.log(`port ${asked} is busy; the aggregator uses ${port}`);
  }

  const wasm = fileURLToPath(new URL("../../filter/build/meshlat.wasm", import.meta.url));
  const module = await loadModule(readFileSync(wasm));
  const stops: (() => Promise<void> | void)[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const s of stops.reverse()) await Promise.resolve(s()).catch(() => {});
    process.exit(code);
  };
  process.once("SIGINT", () => void stopAll(0));
  process.once("SIGTERM", () => void stopAll(0));

  try {
    const agg = await AggregatorProcess.start({ port });
    stops.push(() => agg.kill("SIGTERM"));
    const mesh = await Mesh.start({
      services,
      networkDelayMs,
      module,
      aggregatorUrl: agg.url,
      pluginConfig: { flush_interval_ms: 1000 },
      onFilterError: (pod, err) => console.error(`[${pod}] filter failed, traffic passes untouched: ${String(err)}`),
    });
    stops.push(() => mesh.close());
    for (const [pod, h] of Object.entries(mesh.filterHealth())) {
      if (!h.accepted) console.error(`[${pod}] the filter rejected its configuration: traffic passes without telemetry`);
    }
    const lg = new LoadGenerator({ ...mesh.entry(), concurrency: 4, rps: num(values.rps!, "--rps"), tiers });
    stops.push(async () => {
      await lg.stop();
      lg.close();
    });
    lg.start();

    console.log(`meshlat demo: ${services.map((s) => `${s.name} (${s.region})`).join(" → ")}`);
    console.log(`  metrics   ${agg.url}/metrics`);
    console.log(`  latency   ${agg.url}/api/v1/latency?destination_service=${mesh.fqdn("payment")}&window=1m&by=user_tier`);
    console.log(`  graph     ${agg.url}/api/v1/graph?namespace=${mesh.namespace}&window=1m`);
    console.log(`  app metrics ${Object.entries(mesh.appMetricsTargets()).map(([n, t]) => `${n}=http://${t}/metrics`).join(" ")}`);
    console.log(`  load      ${values.rps} req/s into ${mesh.entry().authority}${duration === undefined ? "; Ctrl-C to stop" : `; stopping after ${duration} s`}`);

    const started = Date.now();
    const endAt = duration === undefined ? Infinity : started + duration * 1000;
    while (!stopping && Date.now() < endAt) {
      await sleep(Math.min(refreshMs, Math.max(0, endAt - Date.now())));
      if (stopping) break;
      const rows = await Promise.all([...mesh.pods.keys()].map(async (name) => ({
        service: name,
        groups: await fetchLatency(agg.url, mesh.fqdn(name)).catch((err: Error) => {
          console.error(`latency API for ${name}: ${err.message}`);
          return [];
        }),
      })));
      const s = lg.stats;
      const bypassed = Object.entries(mesh.filterHealth()).filter(([, h]) => h.failedVms > 0 || !h.accepted);
      const health = bypassed.length === 0 ? "filters ok" : `filter bypassed in ${bypassed.map(([p, h]) => `${p} (${h.failure ?? "configuration rejected"})`).join(", ")}`;
      console.log(`\n--- t=${((Date.now() - started) / 1000).toFixed(0)}s  sent ${s.sent}  ok ${s.byStatus.get(200) ?? 0}  failed ${s.failed}  ${health}  (p99 in ms, last 1m)`);
      console.log(renderTable(rows));
    }
    await stopAll(0);
  } catch (err) {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll(1);
  }
}

function fail(msg: string): never {
  throw new Error(msg);
}

main().catch((err) => {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
