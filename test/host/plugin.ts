// A plugin configuration installed the way Envoy installs it (proxy-wasm-cpp-host src/wasm.cc
// createWasm / WasmHandleBase::canary / getOrCreateThreadLocalPlugin; envoy
// source/common/thread_local/thread_local_impl.cc SlotImpl::set "Handle main thread"):
// 1. a canary clone starts and configures once to validate the configuration, then is
//    discarded (its timers never fire, no on_done); if it rejects, the plugin is rejected and
//    no other VM is configured;
// 2. one VM on the main thread (ticks, never sees traffic) and one per worker, each with its
//    own instance and linear memory: _start, root context create, vm_start, configure.
// A configuration update (reconfigure) gets its own canary, then a new root context in every
// existing VM (same code and vm config), after which the old root context is shut down
// (proxy_on_done, proxy_on_delete) — cpp-host WasmBase::start / startShutdown.
import { LOG_LEVEL_NAMES } from "./abi.ts";
import { ManualClock, type Clock } from "./clock.ts";
import { HostError } from "./errors.ts";
import { checkModule } from "./load-module.ts";
import { nodeMessage, type PluginIdentity } from "./properties.ts";
import { SharedState } from "./shared-state.ts";
import { ENVOY_VERSIONS, type PluginOptions } from "./types.ts";
import { Vm, type MetricState, type RootCtx, type VmEnvironment, type VmRole } from "./vm.ts";

const enc = new TextEncoder();

export class Plugin {
  /** false when the canary's proxy_on_vm_start / proxy_on_configure returned false or trapped. */
  accepted: boolean;
  /** The canary VM of the latest (re)configuration (discarded after configuring). */
  canary!: Vm;
  /** Main-thread VM: ticks, never sees traffic. */
  main!: Vm;
  /** Worker VMs: traffic and ticks. */
  workers: Vm[] = [];
  readonly clock: Clock;
  readonly env: VmEnvironment;
  #opts: PluginOptions;
  readonly #pending = new Set<Promise<unknown>>();
  readonly #canaryCache = new Map<string, boolean>();
  #nextVmId = 0;
  #stopped = false;

  private constructor(opts: PluginOptions) {
    this.#opts = opts;
    this.clock = opts.clock ?? new ManualClock();
    const pending = this.#pending;
    this.env = {
      clock: this.clock,
      vmConfiguration: enc.encode(opts.vmConfiguration ?? ""),
      env: opts.env ?? {},
      clusters: opts.clusters ?? {},
      logLevel: opts.logLevel ?? "info",
      onLog: opts.onLog,
      failOpen: (opts.failStrategy ?? "FAIL_OPEN") === "FAIL_OPEN",
      shared: new SharedState(),
      metrics: new Map<string, MetricState>(),
      track(p: Promise<unknown>) {
        const q = p.finally(() => pending.delete(q));
        pending.add(q);
      },
    };
    this.accepted = false;
  }

  static async start(opts: PluginOptions): Promise<Plugin> {
    validate(opts);
    checkModule(opts.module);
    const p = new Plugin(opts);
    p.#install();
    return p;
  }

  /** Every VM of the plugin: canary, main, workers. */
  get vms(): Vm[] {
    return [this.canary, this.main, ...this.workers];
  }

  #newVm(role: VmRole): Vm {
    return new Vm(this.#nextVmId++, role, this.#opts.module, this.env);
  }

  #identityCache: PluginIdentity | null = null;

  /** What property lookups need from the plugin (built once; the node never changes). */
  #identity(): PluginIdentity {
    if (this.#identityCache === null) {
      const o = this.#opts;
      this.#identityCache = {
        node: nodeMessage(o.node),
        name: o.name ?? "",
        rootId: o.rootId ?? "",
        vmId: o.vmId ?? "",
        version: o.envoyVersion ?? "1.34+",
      };
    }
    return this.#identityCache;
  }

  /**
   * getOrCreateThreadLocalPlugin: start (first time: module start; then root context create +
   * vm_start) and configure; a refusal is recorded in vm.refused with Envoy's message ("Failed
   * to configure thread-local Wasm plugin"); Envoy then has no plugin on that thread. Start
   * traps throw.
   */
  #configure(vm: Vm, configuration: string, first: boolean): RootCtx | null {
    if (first) vm.runStart();
    const { root, ok, refused } = vm.startRoot(this.#identity(), enc.encode(configuration));
    if (!ok && !vm.failed) vm.refused = refused === "vm_start" ? "Failed to start thread-local Wasm" : "Failed to configure thread-local Wasm plugin";
    return ok ? root : null;
  }

  /**
   * WasmHandleBase::canary: a clone starts and configures; a refusal is recorded in
   * canary.refused with Envoy's message "Failed to configure base Wasm plugin" ("Failed to
   * start base Wasm" when vm_start refused; Envoy also marks that VM failed — here `failed`
   * stays reserved for traps). The verdict is cached per configuration (plugin_canary_cache_).
   */
  #runCanary(configuration: string): boolean {
    const cached = this.#canaryCache.get(configuration);
    if (cached !== undefined) return cached;
    const canary = this.#newVm("canary");
    this.canary = canary;
    canary.runStart();
    const { ok, refused } = canary.startRoot(this.#identity(), enc.encode(configuration));
    if (!ok && !canary.failed) canary.refused = refused === "vm_start" ? "Failed to start base Wasm" : "Failed to configure base Wasm plugin";
    this.#discard(canary);
    this.#canaryCache.set(configuration, ok);
    return ok;
  }

  #install(): void {
    const config = this.#opts.configuration;
    this.accepted = this.#runCanary(config);
    this.main = this.#newVm("main");
    for (let i = 0; i < (this.#opts.workers ?? 2); i++) this.workers.push(this.#newVm("worker"));
    if (!this.accepted) {
      // Envoy: "Unable to create Wasm HTTP filter": nothing else of this plugin runs.
      this.main.discarded = true;
      for (const w of this.workers) w.discarded = true;
      return;
    }
    for (const vm of [this.main, ...this.workers]) this.#configure(vm, config, true);
  }

  /** The VM is gone (canary after configuring, every VM on stop): no timer or call outlives it. */
  #discard(vm: Vm): void {
    vm.discarded = true;
    for (const c of vm.contexts.values()) if (c.kind === "root") vm.cancelRootWork(c);
  }

  /**
   * In-place configuration update. Returns false (and keeps the old configuration) when the
   * new configuration's canary rejects it.
   */
  async reconfigure(configuration: string): Promise<boolean> {
    if (this.#stopped || !this.accepted) throw new HostError("HOST_ERR_BAD_OPTIONS", "reconfigure on a stopped or rejected plugin");
    // The plugin key includes the configuration (cpp-host PluginBase::makePluginKey): for the
    // configuration already running, getOrCreateThreadLocalPlugin finds the live thread-local
    // plugin and Envoy keeps its root contexts, with no callbacks.
    if (configuration === this.#opts.configuration) return true;
    const ok = this.#runCanary(configuration);
    if (!ok) return false;
    this.#opts = { ...this.#opts, configuration };
    for (const vm of [this.main, ...this.workers]) {
      if (vm.failed) continue;
      const old = vm.liveRoot();
      this.#configure(vm, configuration, false);
      if (old) vm.shutdownRoot(old);
    }
    return true;
  }

  /** Waits until every pending http-call handler and queue notification has been delivered. */
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Shuts down every root context (on_done / on_delete), cancels timers and calls. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const vm of [this.main, ...this.workers]) {
      if (!vm.discarded) for (const c of [...vm.contexts.values()]) if (c.kind === "root" && !c.deleted) vm.shutdownRoot(c);
      this.#discard(vm);
    }
  }
}

function validate(o: PluginOptions): void {
  const bad = (m: string) => {
    throw new HostError("HOST_ERR_BAD_OPTIONS", m);
  };
  if (!(o.module instanceof WebAssembly.Module)) bad("module must be a WebAssembly.Module (use loadModule)");
  if (typeof o.configuration !== "string") bad("configuration must be a string");
  if (!o.node || typeof o.node.id !== "string") bad("node.id is required");
  if (o.workers !== undefined && (!Number.isInteger(o.workers) || o.workers < 1)) bad("workers must be an integer >= 1");
  if (o.logLevel !== undefined && !LOG_LEVEL_NAMES.includes(o.logLevel)) bad(`unknown logLevel ${o.logLevel}`);
  if (o.envoyVersion !== undefined && !ENVOY_VERSIONS.includes(o.envoyVersion)) bad(`unknown envoyVersion ${o.envoyVersion}`);
}

/** Installs a plugin configuration like Envoy (canary, main-thread VM, worker VMs). */
export function startPlugin(opts: PluginOptions): Promise<Plugin> {
  return Plugin.start(opts);
}
