// The page's test bed (and the screenshot's): the aggregator as its own process, the sample mesh
// frontend → checkout → payment running the built filter with the demo's settings (payment one
// region away: 30 ms of network delay on checkout → payment), and a load generator; plus a
// Chromium driven by playwright-core (Debian's chromium, not a downloaded browser build).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { loadModule } from "../host/index.ts";
import { AggregatorProcess } from "../sidecar/aggregator-process.ts";
import { LoadGenerator } from "../sidecar/load-generator.ts";
import { DEFAULT_SERVICES, Mesh } from "../sidecar/mesh.ts";

export const NETWORK_DELAY_MS = { "checkout->payment": 30 };

export interface Stack { agg: AggregatorProcess; mesh: Mesh; load: LoadGenerator; close(): Promise<void> }

export async function startStack(opts: { rps?: number } = {}): Promise<Stack> {
  const module = await loadModule(readFileSync(fileURLToPath(new URL("../../filter/build/meshlat.wasm", import.meta.url))));
  const agg = await AggregatorProcess.start();
  const closers: (() => Promise<unknown> | void)[] = [() => agg.kill("SIGTERM")];
  const close = async () => { for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => {}); };
  try {
    const mesh = await Mesh.start({ services: DEFAULT_SERVICES, networkDelayMs: NETWORK_DELAY_MS, module, aggregatorUrl: agg.url, pluginConfig: { flush_interval_ms: 1000 } });
    closers.push(() => mesh.close());
    const load = new LoadGenerator({ ...mesh.entry(), concurrency: 4, rps: opts.rps ?? 40 });
    closers.push(async () => { await load.stop(); load.close(); });
    load.start();
    return { agg, mesh, load, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Debian's chromium (CHROMIUM overrides the path). As root it needs --no-sandbox. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
}
