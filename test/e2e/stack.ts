// The whole local system for an end-to-end test: the aggregator (child process), the sample
// mesh running the built filter, and a real Prometheus scraping the aggregator and every
// app's own /metrics each second. `stop()` tears everything down; call it from `after`.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadModule } from "../host/index.ts";
import { AggregatorProcess } from "../sidecar/aggregator-process.ts";
import { Mesh, type MeshOptions } from "../sidecar/mesh.ts";
import { Prometheus } from "./prometheus.ts";

const WASM = fileURLToPath(new URL("../../filter/build/meshlat.wasm", import.meta.url));

export async function loadFilter(): Promise<WebAssembly.Module> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(WASM);
  } catch {
    throw new Error(`${WASM} is missing: run npm run build (npm test does)`);
  }
  return loadModule(bytes);
}

export interface Stack {
  aggregator: AggregatorProcess;
  mesh: Mesh;
  prom: Prometheus;
  stop(): Promise<void>;
}

export async function startStack(
  opts: { mesh?: Omit<MeshOptions, "module" | "aggregatorUrl">; aggregatorArgs?: string[]; ruleFiles?: string[] } = {},
): Promise<Stack> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
    cleanups.length = 0;
  };
  try {
    const module = await loadFilter();
    const aggregator = await AggregatorProcess.start({ args: opts.aggregatorArgs });
    cleanups.push(() => aggregator.kill("SIGTERM"));
    const mesh = await Mesh.start({
      ...opts.mesh,
      module,
      aggregatorUrl: aggregator.url,
      pluginConfig: { flush_interval_ms: 250, ...opts.mesh?.pluginConfig },
    });
    cleanups.push(() => mesh.close());
    const apps = mesh.appMetricsTargets();
    const prom = await Prometheus.start([
      { job: "meshlat-aggregator", targets: [`127.0.0.1:${aggregator.port}`] },
      ...Object.entries(apps).map(([name, target]) => ({ job: name, targets: [target], labels: { app: name } })),
    ], { ruleFiles: opts.ruleFiles });
    cleanups.push(() => prom.stop());
    // Traffic must start after the first scrape of every target, or rate() sees the first
    // samples of a series as its whole history (no increase).
    const targets = 1 + Object.keys(apps).length;
    await prom.waitFor(`count(up == 1)`, (v) => v === targets, 20_000);
    return { aggregator, mesh, prom, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** PromQL label matcher for a mesh service's FQDN. */
export function svc(mesh: Mesh, name: string): string {
  return `destination_service="${mesh.fqdn(name)}"`;
}
