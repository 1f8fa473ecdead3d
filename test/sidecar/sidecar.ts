// A local stand-in for an Istio sidecar: one Envoy per pod with an inbound listener (in front
// of the pod's app) and an outbound listener (the app's calls to other services), both
// running the meshlat filter on every real request through the project's proxy-wasm host.
// It sets the per-stream properties the way Envoy + Istio would (cluster names, listener
// direction, response code and flags, backend latency, mTLS between sidecars, the
// destination's locality) and calls the filter at the real moments of the exchange.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { downstreamPeerProperties, istioClusterMetadata, type IstioPeerFormat, type NodeInfo, type StreamInfo } from "../host/index.ts";
import { FilterRunner } from "./filter-runner.ts";
import { LOCAL_REPLIES, ResponseFlag, replyForUpstreamError, type LocalReply } from "./response-flags.ts";
import { closeServer, listen } from "../support/net.ts";
import { sleep } from "../support/poll.ts";

export interface PodIdentity {
  name: string; // pod name, e.g. "checkout-7d9f"
  namespace: string;
  workload: string;
  region: string;
  ip?: string;
  /** false: leave node.locality empty (bare-metal/kind); the region then comes only from the pod label. */
  nodeLocality?: boolean;
}

/** Where the outbound listener sends a service, as EDS would tell Envoy. */
export interface Endpoint {
  port: number; // the destination pod's inbound listener
  region: string; // upstream.locality.region
  healthy: boolean;
  /** Injected one-way network delay on this hop, applied before the request leaves (ms). */
  networkDelayMs: number;
}

export interface SidecarOptions {
  pod: PodIdentity;
  /** The compiled filter; absent: a plain proxy (baseline without telemetry). */
  module?: WebAssembly.Module;
  pluginConfig?: Record<string, unknown>;
  aggregatorUrl?: () => string | undefined;
  /** Port the sidecar presents for the pod's service (Istio's service/target port). */
  servicePort?: number;
  /** Outbound routing: service FQDN → endpoint; undefined = no route. */
  resolve: (fqdn: string) => Endpoint | undefined;
  /**
   * The FQDN of the service this pod serves, which istiod puts in the inbound cluster's
   * metadata (`istio.services[0].host`); default `<workload>.<namespace>.svc.cluster.local`.
   */
  serviceHost?: string;
  /** How metadata exchange leaves the downstream peer in filter state (Istio version); default "1.29+". */
  istioPeerFormat?: IstioPeerFormat;
  /** A peer's region as workload discovery knows it (Istio ≥ 1.29 adds it to the peer). */
  peerRegion?: (namespace: string, workload: string) => string | undefined;
  /** Route timeout (Envoy default 15 s). */
  upstreamTimeoutMs?: number;
  /** Worker VMs (Envoy --concurrency), default 1. */
  workers?: number;
  onFilterError?: (err: unknown) => void;
}

export const AGGREGATOR_CLUSTER = "outbound|9464||meshlat-aggregator.istio-system.svc.cluster.local";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "host"]);
// Istio's metadata exchange headers (istio/proxy peer_metadata filter). The real value is a
// base64 protobuf Struct; here it is base64 JSON of the same keys (only our sidecars read it).
const PEER_ID = "x-envoy-peer-metadata-id";
const PEER_MD = "x-envoy-peer-metadata";

export function nodeInfo(pod: PodIdentity): NodeInfo {
  const ip = pod.ip ?? "127.0.0.1";
  return {
    id: `sidecar~${ip}~${pod.name}.${pod.namespace}~${pod.namespace}.svc.cluster.local`,
    cluster: `${pod.workload}.${pod.namespace}`,
    metadata: {
      NAME: pod.name,
      NAMESPACE: pod.namespace,
      WORKLOAD_NAME: pod.workload,
      CLUSTER_ID: "Kubernetes",
      LABELS: { app: pod.workload, "topology.kubernetes.io/region": pod.region },
    },
    locality: pod.nodeLocality === false ? {} : { region: pod.region },
  };
}

export class Sidecar {
  readonly node: NodeInfo;
  /** The pod's app port, set once the app listens. */
  appPort = 0;
  /** Route timeout in ms (Envoy's default 15 s); a slower upstream gets 504 UT. */
  upstreamTimeoutMs: number;
  filter?: FilterRunner;
  private readonly inbound: http.Server;
  private readonly outbound: http.Server;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly servicePort: number;
  private readonly peerMetadata: string;
  private readonly inboundMetadata: Record<string, Record<string, unknown>>;

  constructor(private readonly opts: SidecarOptions) {
    this.node = nodeInfo(opts.pod);
    this.servicePort = opts.servicePort ?? 8080;
    this.upstreamTimeoutMs = opts.upstreamTimeoutMs ?? 15_000;
    const { workload, namespace } = opts.pod;
    this.inboundMetadata = istioClusterMetadata([{ host: opts.serviceHost ?? `${workload}.${namespace}.svc.cluster.local`, name: workload, namespace }]);
    this.peerMetadata = Buffer.from(JSON.stringify({ NAME: opts.pod.name, NAMESPACE: opts.pod.namespace, WORKLOAD_NAME: opts.pod.workload })).toString("base64");
    this.inbound = http.createServer((req, res) => this.onInbound(req, res));
    this.outbound = http.createServer((req, res) => this.onOutbound(req, res));
    for (const s of [this.inbound, this.outbound]) s.keepAliveTimeout = 60_000;
  }

  get inboundPort(): number {
    return (this.inbound.address() as AddressInfo).port;
  }
  get outboundPort(): number {
    return (this.outbound.address() as AddressInfo).port;
  }

  async start(): Promise<void> {
    if (this.opts.module) {
      this.filter = await FilterRunner.start({
        module: this.opts.module,
        config: { aggregator_cluster: AGGREGATOR_CLUSTER, ...this.opts.pluginConfig },
        node: this.node,
        aggregatorUrl: this.opts.aggregatorUrl ?? (() => undefined),
        workers: this.opts.workers,
        onError: this.opts.onFilterError,
      });
    }
    await listen(this.inbound);
    await listen(this.outbound);
  }

  async close(): Promise<void> {
    await Promise.all([closeServer(this.inbound), closeServer(this.outbound)]);
    this.agent.destroy();
    this.filter?.stop();
  }

  private onInbound(req: http.IncomingMessage, res: http.ServerResponse): void {
    // Metadata exchange runs before any Wasm filter: it consumes the caller's peer headers and
    // leaves the peer in filter_state.downstream_peer. A peer header means a sidecar called us,
    // i.e. over Istio mTLS.
    const peer = decodePeer(req.headers[PEER_MD]);
    delete req.headers[PEER_MD];
    delete req.headers[PEER_ID];
    const workload = peer?.WORKLOAD_NAME ?? "";
    const namespace = peer?.NAMESPACE ?? "";
    const properties = peer
      ? downstreamPeerProperties(
          { workload, namespace, name: peer.NAME, cluster: "Kubernetes", type: "deployment", app: workload, region: this.opts.peerRegion?.(namespace, workload) },
          this.opts.istioPeerFormat ?? "1.29+",
        )
      : {};
    const info: StreamInfo = {
      direction: "inbound",
      clusterName: `inbound|${this.servicePort}||`,
      // istiod: the inbound cluster's metadata names the service it serves
      // (pilot/pkg/networking/core/cluster_builder.go, filter_metadata.istio.services).
      clusterMetadata: this.inboundMetadata,
      routeName: "default",
      mtls: peer !== undefined,
      properties,
    };
    // Answer with our identity only to in-mesh callers (they sent theirs).
    this.proxy(req, res, info, { port: this.appPort, region: "", healthy: true, networkDelayMs: 0 }, [], peer ? this.peerHeaders() : []);
  }

  private onOutbound(req: http.IncomingMessage, res: http.ServerResponse): void {
    const authority = req.headers.host ?? "";
    const [host, portStr] = authority.split(":");
    const port = Number(portStr ?? "80");
    const fqdn = serviceFqdn(host, this.opts.pod.namespace);
    const endpoint = this.opts.resolve(fqdn);
    const info: StreamInfo = {
      direction: "outbound",
      clusterName: endpoint ? `outbound|${port}||${fqdn}` : "",
      // Istio names a route without a VirtualService "default" (pilot route.go DefaultRouteName).
      routeName: endpoint ? "default" : "",
      mtls: false, // downstream is the local app over plain loopback
      upstreamLocality: endpoint ? { region: endpoint.region } : undefined,
    };
    // Metadata exchange on outbound adds our identity before the Wasm filters run.
    this.proxy(req, res, info, endpoint, this.peerHeaders(), []);
  }

  /**
   * One proxied exchange. `addRequest`: headers metadata exchange adds before the Wasm filter
   * sees the request (outbound); `addResponse`: headers it adds to the response after the
   * filters ran (inbound: MX is first in the chain, so last on the encode path).
   */
  private proxy(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    info: StreamInfo,
    endpoint: Endpoint | undefined,
    addRequest: [string, string][],
    addResponse: [string, string][],
  ): void {
    const stream = this.filter?.stream(info, this.workerFor(req));
    const reqHeaders = requestPairs(req, addRequest);
    const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
    stream?.requestHeaders(reqHeaders, !hasBody);
    let finished = false;
    let replied = false; // a local reply or the upstream's response headers went out
    let upstreamSentNs = 0n;
    let upstream: http.ClientRequest | undefined;
    const finish = () => {
      if (finished) return;
      finished = true;
      stream?.end();
    };
    res.once("close", () => {
      if (!res.writableFinished && !finished) {
        // Downstream went away: Envoy resets the upstream request too.
        info.responseFlags = (info.responseFlags ?? 0) | ResponseFlag.DownstreamConnectionTermination;
        upstream?.destroy();
        finish();
      }
    });

    const localReply = (r: LocalReply) => {
      if (finished) return;
      if (replied) {
        res.destroy();
        finish();
        return;
      }
      replied = true;
      info.responseCode = r.status;
      info.responseFlags = (info.responseFlags ?? 0) | r.flags;
      info.responseCodeDetails = r.details;
      const body = Buffer.from(r.body);
      const h: [string, string][] = [[":status", String(r.status)], ["content-length", String(body.length)], ["content-type", "text/plain"]];
      stream?.responseHeaders(h, body.length === 0);
      if (body.length > 0) stream?.responseBody(new Uint8Array(body), true);
      res.writeHead(r.status, { "content-type": "text/plain", "content-length": body.length });
      res.end(body, finish);
    };

    if (!endpoint) {
      req.resume();
      return localReply(LOCAL_REPLIES.noRoute);
    }
    if (!endpoint.healthy) {
      req.resume();
      return localReply(LOCAL_REPLIES.noHealthyUpstream);
    }

    // Request body: buffered through the filter and to the upstream once it is connected.
    const body: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      stream?.requestBody(new Uint8Array(c), false);
      body.push(c);
    });
    const requestEnded = new Promise<void>((r) => req.once("end", () => {
      if (hasBody) stream?.requestBody(new Uint8Array(0), true);
      r();
    }));

    const forward = async () => {
      await requestEnded;
      if (endpoint.networkDelayMs > 0) await sleep(endpoint.networkDelayMs);
      if (res.destroyed) return finish();
      const headers = forwardHeaders(stream?.requestHeadersOut() ?? reqHeaders);
      upstreamSentNs = process.hrtime.bigint();
      const up = http.request({ host: "127.0.0.1", port: endpoint.port, path: req.url, method: req.method, headers, agent: this.agent });
      upstream = up;
      const timer = setTimeout(() => {
        up.destroy();
        localReply(LOCAL_REPLIES.timeout);
      }, this.upstreamTimeoutMs);
      up.once("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (!replied) localReply(replyForUpstreamError(err));
        else if (!finished) {
          info.responseFlags = (info.responseFlags ?? 0) | ResponseFlag.UpstreamRemoteReset;
          res.destroy();
          finish();
        }
      });
      up.once("response", (ures) => {
        if (replied) return void ures.resume(); // timed out already
        replied = true;
        const status = ures.statusCode ?? 0;
        info.responseCode = status;
        info.responseCodeDetails = "via_upstream";
        const h = responsePairs(ures);
        // Outbound: the server's peer headers are visible to Wasm here (encoder order: Wasm
        // before metadata exchange), which then consumes them (stripped below). The host
        // fixes a stream's extra properties at creation, so filter_state.upstream_peer is not
        // offered in proxy_on_log; meshlat does not need it (client side uses its own node).
        const noBody = ures.headers["content-length"] === "0" || status === 204 || status === 304 || req.method === "HEAD";
        stream?.responseHeaders(h, noBody);
        const out = responseOutHeaders(stream?.responseHeadersOut() ?? h, addResponse);
        res.writeHead(status, out);
        ures.on("data", (c: Buffer) => {
          stream?.responseBody(new Uint8Array(c), false);
          res.write(c);
        });
        ures.once("end", () => {
          clearTimeout(timer);
          info.backendLatencyNs = process.hrtime.bigint() - upstreamSentNs;
          if (!noBody) stream?.responseBody(new Uint8Array(0), true);
          res.end(finish);
        });
        ures.once("error", () => {
          clearTimeout(timer);
          info.responseFlags = (info.responseFlags ?? 0) | ResponseFlag.UpstreamRemoteReset;
          res.destroy();
          finish();
        });
      });
      for (const c of body) up.write(c);
      up.end();
    };
    void forward().catch(() => localReply(LOCAL_REPLIES.connectionTermination));
  }

  private readonly workerOf = new WeakMap<object, number>();

  private workerFor(req: http.IncomingMessage): number {
    let w = this.workerOf.get(req.socket);
    if (w === undefined) {
      w = this.filter?.assignWorker() ?? 0;
      this.workerOf.set(req.socket, w);
    }
    return w;
  }

  /** This pod's identity as metadata exchange propagates it. */
  peerHeaders(): [string, string][] {
    return [[PEER_ID, this.node.id], [PEER_MD, this.peerMetadata]];
  }
}

/**
 * The service an outbound request's host names, as Istio's outbound routes match it: a service
 * of the caller's namespace is reachable as `name`, `name.ns`, `name.ns.svc` and the FQDN (istio
 * pilot/pkg/networking/core/route virtual host domains), all routed to the FQDN's cluster.
 */
export function serviceFqdn(host: string, callerNamespace: string): string {
  const parts = host.split(".");
  if (parts.length === 1) return `${host}.${callerNamespace}.svc.cluster.local`;
  if (parts.length === 2) return `${host}.svc.cluster.local`;
  if (parts.length === 3 && parts[2] === "svc") return `${host}.cluster.local`;
  return host;
}

function decodePeer(v: string | string[] | undefined): Record<string, string> | undefined {
  if (typeof v !== "string") return undefined;
  try {
    return JSON.parse(Buffer.from(v, "base64").toString("utf8")) as Record<string, string>;
  } catch {
    return undefined;
  }
}

/** The request header map as Envoy hands it to filters: pseudo-headers first, lower-case names. */
function requestPairs(req: http.IncomingMessage, add: [string, string][]): [string, string][] {
  const h: [string, string][] = [
    [":authority", req.headers.host ?? ""],
    [":path", req.url ?? "/"],
    [":method", req.method ?? "GET"],
    [":scheme", "http"],
  ];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const k = req.rawHeaders[i].toLowerCase();
    // Peer headers from a caller were consumed by metadata exchange (inbound) before any
    // Wasm filter; on outbound MX adds ours (in `add`).
    if (k !== "host" && k !== PEER_ID && k !== PEER_MD) h.push([k, req.rawHeaders[i + 1]]);
  }
  if (req.headers["x-request-id"] === undefined) h.push(["x-request-id", crypto.randomUUID()]);
  h.push(["x-forwarded-proto", "http"]);
  h.push(...add);
  return h;
}

function responsePairs(res: http.IncomingMessage): [string, string][] {
  const h: [string, string][] = [[":status", String(res.statusCode ?? 0)]];
  for (let i = 0; i < res.rawHeaders.length; i += 2) h.push([res.rawHeaders[i].toLowerCase(), res.rawHeaders[i + 1]]);
  return h;
}

function forwardHeaders(pairs: [string, string][]): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of pairs) {
    if (k === ":authority") out.host = v;
    else if (k.startsWith(":") || HOP_BY_HOP.has(k)) continue;
    else appendHeader(out, k, v);
  }
  return out;
}

function responseOutHeaders(pairs: [string, string][], add: [string, string][]): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of pairs) {
    if (k.startsWith(":") || HOP_BY_HOP.has(k) || k === PEER_ID || k === PEER_MD) continue;
    appendHeader(out, k, v);
  }
  for (const [k, v] of add) appendHeader(out, k, v);
  return out;
}

function appendHeader(out: http.OutgoingHttpHeaders, k: string, v: string): void {
  const cur = out[k];
  if (cur === undefined) out[k] = v;
  else out[k] = Array.isArray(cur) ? [...cur, v] : [String(cur), v];
}
