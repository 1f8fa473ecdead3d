// The sample mesh: frontend → checkout → payment, each a pod (app + sidecar). Knobs for
// injected app delay, network delay per hop, error rate and regions can be changed while it
// runs. The aggregator address the sidecars' aggregator cluster maps to can move (restart).
import { SampleApp } from "./sample-app.ts";
import { Sidecar, type Endpoint } from "./sidecar.ts";
import type { IstioPeerFormat } from "../host/index.ts";

export interface ServiceSpec {
  name: string;
  region: string;
  delayMs?: number;
  errorRate?: number;
  /** Names of the services this one calls for each request. */
  calls?: string[];
  /** Leave the proxy's node locality empty (region from the pod label only). */
  nodeLocality?: boolean;
  /** The app reports `Server-Timing: app;dur=…` (default true). */
  serverTiming?: boolean;
}

export interface MeshOptions {
  namespace?: string;
  services?: ServiceSpec[];
  /** Injected network delay per hop, keyed "caller->callee" (ms). */
  networkDelayMs?: Record<string, number>;
  /** The compiled filter; absent: sidecars proxy without telemetry. */
  module?: WebAssembly.Module;
  /** Plugin configuration fields besides aggregator_cluster (e.g. flush_interval_ms). */
  pluginConfig?: Record<string, unknown>;
  aggregatorUrl?: string;
  seed?: number;
  /** Worker VMs per sidecar (Envoy --concurrency), default 1. */
  workers?: number;
  /** How apps name the services they call: "fqdn" (default) or the Kubernetes short name `payment:8080`. */
  callNames?: "fqdn" | "short";
  /** How the sidecars' metadata exchange serves the downstream peer (Istio version); default "1.29+". */
  istioPeerFormat?: IstioPeerFormat;
  onFilterError?: (pod: string, err: unknown) => void;
}

export const SERVICE_PORT = 8080;

export const DEFAULT_SERVICES: ServiceSpec[] = [
  { name: "frontend", region: "us-east-1", delayMs: 2, calls: ["checkout"] },
  { name: "checkout", region: "us-east-1", delayMs: 5, calls: ["payment"] },
  { name: "payment", region: "eu-west-1", delayMs: 10, errorRate: 0.02 },
];

export interface Pod {
  spec: ServiceSpec;
  app: SampleApp;
  sidecar: Sidecar;
  fqdn: string;
  healthy: boolean;
}

export class Mesh {
  readonly namespace: string;
  readonly pods = new Map<string, Pod>();
  aggregatorUrl: string | undefined;
  private readonly networkDelay: Map<string, number>;

  private constructor(private readonly opts: MeshOptions) {
    this.namespace = opts.namespace ?? "shop";
    this.aggregatorUrl = opts.aggregatorUrl;
    this.networkDelay = new Map(Object.entries(opts.networkDelayMs ?? {}));
  }

  static async start(opts: MeshOptions = {}): Promise<Mesh> {
    const mesh = new Mesh(opts);
    try {
      await mesh.startPods();
    } catch (err) {
      await mesh.close();
      throw err;
    }
    return mesh;
  }

  fqdn(service: string): string {
    return `${service}.${this.namespace}.svc.cluster.local`;
  }

  pod(service: string): Pod {
    const p = this.pods.get(service);
    if (!p) throw new Error(`no such service in the mesh: ${service}`);
    return p;
  }

  /** What a client outside the mesh calls: the first service's inbound listener. */
  entry(service = this.opts.services?.[0]?.name ?? "frontend"): { port: number; authority: string } {
    return { port: this.pod(service).sidecar.inboundPort, authority: `${this.fqdn(service)}:${SERVICE_PORT}` };
  }

  setAppDelay(service: string, ms: number): void {
    this.pod(service).app.delayMs = ms;
  }
  setErrorRate(service: string, rate: number): void {
    this.pod(service).app.errorRate = rate;
  }
  setNetworkDelay(caller: string, callee: string, ms: number): void {
    this.networkDelay.set(`${caller}->${callee}`, ms);
  }
  /** Marks a service's only endpoint unhealthy (callers get 503 UH) or healthy again. */
  setHealthy(service: string, healthy: boolean): void {
    this.pod(service).healthy = healthy;
  }

  /** host:port of every app's own /metrics endpoint, for Prometheus. */
  appMetricsTargets(): Record<string, string> {
    return Object.fromEntries([...this.pods].map(([name, p]) => [name, `127.0.0.1:${p.app.metricsPort}`]));
  }

  /**
   * Per pod: whether the plugin accepted its configuration, how many worker VMs failed (trap:
   * bypassed, FAIL_OPEN) and the first failure, for the demo's status line.
   */
  filterHealth(): Record<string, { accepted: boolean; failedVms: number; failure?: string }> {
    return Object.fromEntries([...this.pods].map(([name, p]) => {
      const plugin = p.sidecar.filter?.plugin;
      const failed = plugin?.workers.filter((w) => w.failed) ?? [];
      return [name, { accepted: plugin?.accepted ?? false, failedVms: failed.length, failure: failed[0]?.failure?.message }];
    }));
  }

  /** Filter failures (traps or host errors) per pod: telemetry bypassed, traffic passed. */
  filterErrors(): Record<string, number> {
    return Object.fromEntries([...this.pods].map(([name, p]) => [name, p.sidecar.filter?.errors ?? 0]));
  }

  async close(): Promise<void> {
    await Promise.all([...this.pods.values()].map(async (p) => {
      await p.app.close();
      await p.sidecar.close();
    }));
  }

  private async startPods(): Promise<void> {
    const specs = this.opts.services ?? DEFAULT_SERVICES;
    let seed = this.opts.seed ?? 1;
    for (const spec of specs) {
      const app = new SampleApp({
        name: spec.name,
        namespace: this.namespace,
        delayMs: spec.delayMs,
        errorRate: spec.errorRate,
        calls: (spec.calls ?? []).map((c) => `${this.opts.callNames === "short" ? c : this.fqdn(c)}:${SERVICE_PORT}`),
        serverTiming: spec.serverTiming,
        seed: seed++,
      });
      const sidecar = new Sidecar({
        pod: { name: `${spec.name}-${suffix(spec.name)}`, namespace: this.namespace, workload: spec.name, region: spec.region, nodeLocality: spec.nodeLocality },
        module: this.opts.module,
        pluginConfig: this.opts.pluginConfig,
        aggregatorUrl: () => this.aggregatorUrl,
        servicePort: SERVICE_PORT,
        workers: this.opts.workers,
        resolve: (fqdn) => this.resolve(spec.name, fqdn),
        istioPeerFormat: this.opts.istioPeerFormat,
        // Workload discovery knows every pod's region (Istio ≥ 1.29 puts it in the peer).
        peerRegion: (ns, workload) => (ns === this.namespace ? this.pods.get(workload)?.spec.region : undefined),
        onFilterError: (err) => this.opts.onFilterError?.(spec.name, err),
      });
      const pod: Pod = { spec, app, sidecar, fqdn: this.fqdn(spec.name), healthy: true };
      this.pods.set(spec.name, pod);
      await app.listen();
      await sidecar.start();
      sidecar.appPort = app.port;
      app.outboundPort = sidecar.outboundPort;
    }
  }

  private resolve(caller: string, fqdn: string): Endpoint | undefined {
    const callee = [...this.pods.values()].find((p) => p.fqdn === fqdn);
    if (!callee) return undefined;
    return {
      port: callee.sidecar.inboundPort,
      region: callee.spec.region,
      healthy: callee.healthy,
      networkDelayMs: this.networkDelay.get(`${caller}->${callee.spec.name}`) ?? 0,
    };
  }
}

/** A stable pod-name suffix, like a ReplicaSet hash. */
function suffix(name: string): string {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h.toString(16).slice(0, 5);
}
