// Runs the meshlat filter for one sidecar through the project's proxy-wasm host, and makes it
// fail open: telemetry must never delay or fail a request. A VM that traps (or a host call
// that throws) is bypassed from then on and traffic passes untouched, as Envoy does with
// failStrategy FAIL_OPEN (istio/api extensions/v1alpha1/wasm.proto FailStrategy).
import { RealClock, startPlugin } from "../host/index.ts";
import type { Clock, HttpStream, NodeInfo, Plugin, StreamInfo, Vm } from "../host/index.ts";
import { httpCallToUrl } from "./http-call.ts";

export interface FilterRunnerOptions {
  module: WebAssembly.Module;
  /** The plugin configuration (WasmPlugin pluginConfig). */
  config: Record<string, unknown>;
  node: NodeInfo;
  /** Base URL the aggregator cluster maps to, read at every http call (it may move). */
  aggregatorUrl: () => string | undefined;
  clock?: Clock;
  /** Worker VMs (Envoy --concurrency); default 1. Plus the main-thread VM and the canary. */
  workers?: number;
  onError?: (err: unknown) => void;
}

export class FilterRunner {
  /** Calls into the filter that threw; the stream (or VM) is bypassed after one. */
  errors = 0;

  private next = 0;

  private constructor(
    readonly plugin: Plugin,
    private readonly onError: (err: unknown) => void,
  ) {}

  static async start(opts: FilterRunnerOptions): Promise<FilterRunner> {
    const cluster = String(opts.config.aggregator_cluster);
    const plugin = await startPlugin({
      module: opts.module,
      configuration: JSON.stringify(opts.config),
      name: "meshlat",
      node: opts.node,
      workers: opts.workers ?? 1, // Envoy --concurrency: worker VMs + main-thread VM + canary
      clock: opts.clock ?? new RealClock(),
      clusters: { [cluster]: httpCallToUrl(opts.aggregatorUrl) },
      logLevel: "warn",
    });
    return new FilterRunner(plugin, opts.onError ?? (() => {}));
  }

  /** The plugin was accepted and no worker VM failed. */
  get healthy(): boolean {
    return this.plugin.accepted && this.plugin.workers.every((w) => !w.failed);
  }

  /**
   * The worker VM for a new downstream connection: Envoy hands each connection to one worker
   * (round robin here), and every request on it runs on that worker's VM.
   */
  assignWorker(): number {
    const i = this.next;
    this.next = (this.next + 1) % this.plugin.workers.length;
    return i;
  }

  /** A stream on a worker VM; every call is a no-op once that VM failed. */
  stream(info: StreamInfo, worker = 0): FilterStream {
    const vm = this.plugin.workers[worker];
    if (!this.plugin.accepted || vm.failed) return new FilterStream(undefined, vm, this);
    try {
      return new FilterStream(vm.stream(info), vm, this);
    } catch (err) {
      this.fail(err);
      return new FilterStream(undefined, vm, this);
    }
  }

  fail(err: unknown): void {
    this.errors++;
    this.onError(err);
  }

  stop(): void {
    try {
      this.plugin.stop();
    } catch (err) {
      this.fail(err);
    }
  }
}

/** The callbacks of one HTTP stream in Envoy's order, each guarded (fail open). */
export class FilterStream {
  constructor(
    private s: HttpStream | undefined,
    private readonly vm: Vm,
    private readonly runner: FilterRunner,
  ) {}

  get active(): boolean {
    return this.s !== undefined && !this.vm.failed;
  }

  requestHeaders(h: [string, string][], eos: boolean): void {
    this.guard((s) => s.requestHeaders(h, eos));
  }
  requestBody(chunk: Uint8Array, eos: boolean): void {
    this.guard((s) => s.requestBody(chunk, eos));
  }
  responseHeaders(h: [string, string][], eos: boolean): void {
    this.guard((s) => s.responseHeaders(h, eos));
  }
  responseBody(chunk: Uint8Array, eos: boolean): void {
    this.guard((s) => s.responseBody(chunk, eos));
  }
  /** proxy_on_log then proxy_on_done/proxy_on_delete, as Envoy's onDestroy after the access log. */
  end(): void {
    this.guard((s) => s.log());
    this.guard((s) => s.done());
    this.s = undefined;
  }

  /** Header map as the filter left it (the filter may add or change headers), if it ran. */
  requestHeadersOut(): [string, string][] | undefined {
    return this.active ? this.s!.requestHeadersOut : undefined;
  }
  responseHeadersOut(): [string, string][] | undefined {
    return this.active ? this.s!.responseHeadersOut : undefined;
  }

  private guard(fn: (s: HttpStream) => unknown): void {
    if (!this.active) return;
    try {
      fn(this.s!);
    } catch (err) {
      this.s = undefined;
      this.runner.fail(err);
    }
  }
}
