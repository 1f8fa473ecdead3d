// Public option and data types of the host (see README.md).
import type { Clock } from "./clock.ts";
import type { LogLevelName } from "./abi.ts";
import type { PropertyValue } from "./property-value.ts";

/** What Envoy's bootstrap Node carries (Istio fills it: pkg/bootstrap/config.go). */
export interface NodeInfo {
  id: string;
  cluster?: string;
  /** Struct: WORKLOAD_NAME, NAMESPACE, LABELS: {...}, ... (JSON-like values). */
  metadata?: Record<string, unknown>;
  locality?: { region?: string; zone?: string; subzone?: string };
}

/**
 * "1.34+": current Envoy (default): Wasm-specific xds attributes only under `xds.*`
 *   (envoyproxy/envoy#36619, 1.33) and `upstream.locality` (envoyproxy/envoy#38024, 1.34).
 * "1.33": as "1.34+" without `upstream.locality`.
 * "legacy": Envoy before the `xds.*` attributes: `node`, `cluster_name`, `listener_direction`,
 *   `route_name` at top level and no `xds`.
 * "1.28-1.32": both spellings (the deprecation window).
 */
export type EnvoyVersion = "1.34+" | "1.33" | "legacy" | "1.28-1.32";
export const ENVOY_VERSIONS: readonly EnvoyVersion[] = ["1.34+", "1.33", "legacy", "1.28-1.32"];

export interface HttpCallRequest {
  cluster: string;
  headers: [string, string][];
  body: Uint8Array;
  trailers: [string, string][];
  timeoutMs: number;
}

/**
 * What the cluster answers. `unavailable` models a cluster with no healthy endpoint or an
 * upstream overflow: returned synchronously, proxy_http_call gets INTERNAL_FAILURE and no
 * callback ever comes (Envoy's router answers inline); inside a promise it is the router's 503
 * local reply, delivered as a response.
 */
export type HttpCallResult =
  | { headers: [string, string][]; body?: Uint8Array | string; trailers?: [string, string][] }
  | { reset: true }
  | { unavailable: "no_healthy_upstream" | "overflow" };

export type HttpCallHandler = (req: HttpCallRequest) => HttpCallResult | Promise<HttpCallResult>;

export interface LogLine {
  level: LogLevelName;
  message: string;
  vm: number;
  /** proxy_log, WASI fd_write fd 1 / fd 2, or the host's own report (trap, proc_exit). */
  source: "proxy_log" | "stdout" | "stderr" | "host";
}

export interface PluginOptions {
  module: WebAssembly.Module;
  /** Plugin configuration (WasmPlugin pluginConfig as JSON). */
  configuration: string;
  /** vm_config.configuration (Istio leaves it empty). */
  vmConfiguration?: string;
  rootId?: string;
  /** Plugin name (property plugin_name); Istio uses "<namespace>.<wasmplugin name>". */
  name?: string;
  vmId?: string;
  node: NodeInfo;
  envoyVersion?: EnvoyVersion;
  /** Worker VMs, default 2 (Envoy: one per worker + one on the main thread + a canary). */
  workers?: number;
  clock?: Clock;
  /** WasmPlugin vmConfig.env, visible through WASI environ_get. */
  env?: Record<string, string>;
  /** proxy_http_call targets by Envoy cluster name; unknown names -> BAD_ARGUMENT. */
  clusters?: Record<string, HttpCallHandler>;
  /** Envoy's `wasm` logger level: lines below it are dropped; proxy_get_log_level returns it. Default "info". */
  logLevel?: LogLevelName;
  onLog?: (line: LogLine) => void;
  /**
   * WasmPlugin failStrategy. FAIL_OPEN (default here; Istio's default is FAIL_CLOSE): a failed VM
   * is bypassed. FAIL_CLOSE: streams on a failed VM get a 503 local reply (HttpStream.localReply).
   */
  failStrategy?: "FAIL_OPEN" | "FAIL_CLOSE";
}

/** Per-stream properties Envoy would offer (names: envoy docs attributes.rst). */
export interface StreamInfo {
  /** xds.listener_direction: inbound 1, outbound 2. */
  direction?: "inbound" | "outbound";
  /** xds.cluster_name, e.g. "outbound|8080||checkout.shop.svc.cluster.local". */
  clusterName?: string;
  routeName?: string;
  /** response.code; default: the :status the response headers carried. */
  responseCode?: number;
  /** response.code_details; default "via_upstream" once response headers passed. */
  responseCodeDetails?: string;
  /** response.flags (Envoy's legacy bitmask), readable from the response phase on; default 0. */
  responseFlags?: number;
  /** response.backend_latency (ns), readable in on_log only (set when the upstream answered). */
  backendLatencyNs?: bigint;
  /** connection.mtls; default false. */
  mtls?: boolean;
  /** upstream.locality (Envoy >= 1.34), readable from the response phase on. */
  upstreamLocality?: { region?: string; zone?: string; subzone?: string };
  /**
   * xds.cluster_metadata: the upstream cluster's Metadata.filter_metadata, filter name → Struct
   * (JSON-like). Istio puts the service an inbound cluster serves under
   * `istio.services[0].host` (see istio.ts inboundClusterMetadata).
   */
  clusterMetadata?: Record<string, Record<string, unknown>>;
  /** request.protocol; default "HTTP/1.1". */
  protocol?: string;
  /**
   * Any other property, keyed by path. Segments are separated by "\0" if the key contains one,
   * else by "." (write "filter_state\0wasm.upstream_peer" for keys containing dots). These
   * entries take precedence over the built-in ones path by path: "connection\0x" given here
   * leaves the built-in connection.mtls readable.
   */
  properties?: Record<string, PropertyValue>;
}
