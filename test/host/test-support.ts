// Shared helpers for the host's own tests: compiled fixture modules and a standard node.
import { readFileSync } from "node:fs";
import { loadModule } from "./load-module.ts";
import type { NodeInfo } from "./types.ts";
import type { Vm } from "./vm.ts";

const cache = new Map<string, Promise<WebAssembly.Module>>();

/** test/fixtures/build/<name>.wasm, compiled once per process (built by test/fixtures/build.mjs). */
export function fixture(name: string): Promise<WebAssembly.Module> {
  let m = cache.get(name);
  if (!m) {
    m = loadModule(readFileSync(new URL(`../fixtures/build/${name}.wasm`, import.meta.url)));
    cache.set(name, m);
  }
  return m;
}

export const NODE: NodeInfo = {
  id: "sidecar~10.0.0.7~checkout-7d9f.shop~shop.svc.cluster.local",
  cluster: "checkout.shop",
  metadata: {
    WORKLOAD_NAME: "checkout",
    NAMESPACE: "shop",
    LABELS: { app: "checkout", "topology.kubernetes.io/region": "eu-west-1" },
    ISTIO_VERSION: "1.28.0",
    REPLICAS: 3,
    MESH: true,
  },
  locality: { region: "eu-west-1", zone: "eu-west-1a" },
};

/** proxy_log / stdout messages of a VM, in order. */
export function messages(vm: Vm): string[] {
  return vm.logs.filter((l) => l.source !== "host").map((l) => l.message);
}

/** Messages since `from` (an index into vm.logs). */
export function messagesSince(vm: Vm, from: number): string[] {
  return vm.logs.slice(from).filter((l) => l.source !== "host").map((l) => l.message);
}
