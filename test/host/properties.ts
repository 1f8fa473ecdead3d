// proxy_get_property resolution, following envoy source/extensions/common/wasm/context.cc
// (Context::getProperty / findValue) over the CEL attributes of
// source/extensions/filters/common/expr/context.cc (request, response, connection, upstream,
// xds, ...): the path is split on NUL; the first segment names a top-level attribute, later
// segments index maps (key), messages (field name) and lists (decimal index). A top-level name
// that is no attribute falls back to plugin_name / plugin_root_id / plugin_vm_id /
// connection_id, then to the filter-state key "wasm.<name>" written by proxy_set_property.
import type { HeaderMap } from "./header-map.ts";
import { encodeLocality, encodeMetadata, encodeNode } from "./protobuf.ts";
import { LookupMap, Message, child, fromStructValue, prop, type PropertyValue } from "./property-value.ts";
import type { EnvoyVersion, NodeInfo, StreamInfo } from "./types.ts";

/** Per-plugin, per-VM facts (built once). */
export interface PluginIdentity {
  readonly node: Message;
  readonly name: string;
  readonly rootId: string;
  readonly vmId: string;
  readonly version: EnvoyVersion;
}

/** What a stream exposes to the property lookup at the current moment of its life. */
export interface StreamView {
  readonly info: StreamInfo;
  readonly userTree: Map<string, PropertyValue> | null;
  readonly connectionId: number;
  readonly startWallNs: bigint;
  readonly startMonoNs: bigint;
  /** Monotonic time the stream completed (on_log), else undefined. */
  readonly completeMonoNs: bigint | undefined;
  /** Response headers have been processed (router set code/upstream info). */
  readonly responseStarted: boolean;
  /** :status of the response headers as they reached the filter (StreamInfo::responseCode). */
  readonly statusCode: number | undefined;
  /** Body bytes received from downstream / sent downstream so far (bytesReceived / bytesSent). */
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly logPhase: boolean;
  /** The filter's own or the fail-closed local reply (Envoy's sendLocalReply sets code and details). */
  readonly localReply: { readonly status: number; readonly details: string } | null;
  /** upstream.locality as a Message, built once per StreamInfo.upstreamLocality value. */
  upstreamLocality(): Message | undefined;
  /** Header maps readable by CEL now (null = pointer dropped, as Envoy does). */
  readableRequestHeaders(): HeaderMap | null;
  readableResponseHeaders(): HeaderMap | null;
  readableResponseTrailers(): HeaderMap | null;
  readonly filterState: Map<string, Uint8Array>;
}

export function localityMessage(l: { region?: string; zone?: string; subzone?: string }): Message {
  return new Message(encodeLocality(l), { region: l.region ?? "", zone: l.zone ?? "", sub_zone: l.subzone ?? "" });
}

// Messages are immutable, and a mesh has few localities: encode each one once, not per request.
const localityCache = new Map<string, Message>();

/** localityMessage, shared by every stream with an equal locality. */
export function cachedLocalityMessage(l: { region?: string; zone?: string; subzone?: string }): Message {
  const key = `${l.region ?? ""}\0${l.zone ?? ""}\0${l.subzone ?? ""}`;
  let m = localityCache.get(key);
  if (m === undefined) {
    if (localityCache.size >= 256) localityCache.clear();
    m = localityMessage(l);
    localityCache.set(key, m);
  }
  return m;
}

// A sidecar has few clusters: each StreamInfo.clusterMetadata object is encoded once.
const metadataCache = new WeakMap<object, Message>();

/**
 * xds.cluster_metadata as CEL sees envoy.config.core.v3.Metadata (envoy
 * source/extensions/filters/common/expr/context.cc XDSLookupValues ClusterMetadata:
 * CelProtoWrapper::CreateMessage(&cluster_info->metadata())): whole = protobuf bytes;
 * `filter_metadata` a map whose Struct values CEL reads as maps (lists as lists), so
 * `xds.cluster_metadata.filter_metadata.istio.services.0.host` is a raw string.
 */
export function clusterMetadataMessage(fm: Record<string, Record<string, unknown>>): Message {
  let m = metadataCache.get(fm);
  if (m === undefined) {
    const filterMetadata: Record<string, PropertyValue> = {};
    for (const [k, v] of Object.entries(fm)) filterMetadata[k] = fromStructValue(v);
    m = new Message(encodeMetadata(fm), { filter_metadata: filterMetadata, typed_filter_metadata: {} });
    metadataCache.set(fm, m);
  }
  return m;
}

/** xds.node as CEL sees envoy.config.core.v3.Node: fields by name, metadata (a Struct) as a map. */
export function nodeMessage(n: NodeInfo): Message {
  return new Message(encodeNode(n), {
    id: n.id,
    cluster: n.cluster ?? "",
    metadata: fromStructValue(n.metadata ?? {}),
    locality: localityMessage(n.locality ?? {}),
    user_agent_name: "envoy",
  });
}

/** Splits StreamInfo.properties keys into a tree keyed by top-level name. */
export function buildUserTree(props: Record<string, PropertyValue> | undefined): Map<string, PropertyValue> | null {
  if (!props) return null;
  const root: Record<string, PropertyValue> = {};
  for (const [path, value] of Object.entries(props)) {
    const segs = path.includes("\0") ? path.split("\0") : path.split(".");
    let node = root as Record<string, PropertyValue>;
    for (let i = 0; i < segs.length - 1; i++) {
      const s = segs[i]!;
      const next = node[s];
      if (typeof next !== "object" || next === null || Array.isArray(next) || next instanceof Uint8Array || next.constructor !== Object) {
        node[s] = {};
      }
      node = node[s] as Record<string, PropertyValue>;
    }
    node[segs[segs.length - 1]!] = value;
  }
  return new Map(Object.entries(root));
}

/**
 * CEL HeadersWrapper (envoy source/extensions/filters/common/expr/context.h): repeated values
 * joined with ","; ListKeys gives each name once (so the whole map serializes as pairs); over a
 * map that is not available now (null) it is an empty map, so every key is NOT_FOUND.
 */
function headerLookup(h: HeaderMap | null): LookupMap {
  if (h === null) return EMPTY_HEADERS;
  return new LookupMap(
    (k) => {
      const all = h.getAll(k);
      return all.length ? all.join(",") : undefined;
    },
    () => [...new Set(h.entries.map((e) => e[0]))],
  );
}

const EMPTY_HEADERS = new LookupMap(
  () => undefined,
  () => [],
);

function requestValue(s: StreamView, k: string): PropertyValue | undefined {
  {
    switch (k) {
      case "time":
        return prop.timestampNs(s.startWallNs);
      case "duration":
        return s.completeMonoNs === undefined ? undefined : prop.durationNs(s.completeMonoNs - s.startMonoNs);
      case "protocol":
        return s.info.protocol ?? "HTTP/1.1";
    }
    const h = s.readableRequestHeaders();
    switch (k) {
      case "size": {
        // content-length when present (NOT_FOUND if it does not parse: absl::SimpleAtoi), else
        // the body bytes received so far
        const cl = h?.get("content-length");
        if (cl === undefined) return prop.int(s.bytesReceived);
        if (!/^\s*[+-]?\d+\s*$/.test(cl)) return undefined;
        const n = BigInt(cl.trim());
        return BigInt.asIntN(64, n) === n ? prop.int(n) : undefined;
      }
      case "total_size":
        return prop.int(s.bytesReceived + (h ? h.byteSize() : 0));
      case "headers":
        return headerLookup(h);
    }
    if (!h) return undefined;
    switch (k) {
      case "path":
        return h.get(":path");
      case "url_path": {
        const p = h.get(":path");
        return p === undefined ? undefined : p.split("?")[0];
      }
      case "host":
        return h.get(":authority");
      case "scheme":
        return h.get(":scheme");
      case "method":
        return h.get(":method");
      case "referer":
        return h.get("referer");
      case "useragent":
        return h.get("user-agent");
      case "id":
        return h.get("x-request-id");
      case "query": {
        const p = h.get(":path") ?? "";
        const i = p.indexOf("?");
        return i < 0 ? "" : p.slice(i + 1).split("#")[0];
      }
    }
    return undefined;
  }
}

function responseCode(s: StreamView): number | undefined {
  return s.info.responseCode ?? s.statusCode ?? s.localReply?.status;
}

// Envoy's ResponseWrapper reads StreamInfo (envoy source/extensions/filters/common/expr/context.cc
// ResponseLookupValues): the router fills code/details/flags when response headers arrive, a
// local reply (this filter's proxy_send_local_response, the fail-closed 503) fills them too, and
// a reset adds flags, so the access log (on_log) sees the final values even when no response
// headers passed this filter. StreamInfo fields given up front count from the response on.
function responseValue(s: StreamView, k: string, version: EnvoyVersion): PropertyValue | undefined {
  {
    const settled = s.responseStarted || s.logPhase;
    switch (k) {
      case "size":
        return prop.int(s.bytesSent);
      case "total_size": {
        const h = s.readableResponseHeaders();
        const t = s.readableResponseTrailers();
        return prop.int(s.bytesSent + (h ? h.byteSize() : 0) + (t ? t.byteSize() : 0));
      }
      case "flags":
        return prop.int(settled ? (s.info.responseFlags ?? 0) : 0);
      case "code": {
        const code = settled ? responseCode(s) : undefined;
        return code === undefined ? undefined : prop.int(code);
      }
      case "code_details":
        if (!settled) return undefined;
        return s.info.responseCodeDetails ?? s.localReply?.details ?? (s.responseStarted ? "via_upstream" : undefined);
      case "backend_latency": // Envoy >= 1.32 (envoyproxy/envoy#36292)
        if (version === "legacy") return undefined;
        return s.logPhase && s.info.backendLatencyNs !== undefined ? prop.durationNs(s.info.backendLatencyNs) : undefined;
      case "headers":
        return headerLookup(s.readableResponseHeaders());
      case "trailers":
        return headerLookup(s.readableResponseTrailers());
    }
    return undefined;
  }
}

function connectionValue(s: StreamView, k: string): PropertyValue | undefined {
  switch (k) {
    case "mtls":
      return s.info.mtls ?? false;
    case "id":
      return prop.uint(s.connectionId);
  }
  return undefined;
}

function upstreamValue(s: StreamView, k: string, version: EnvoyVersion): PropertyValue | undefined {
  {
    // request_attempt_count: Envoy >= 1.33 (envoyproxy/envoy#36939); upstream.locality: >= 1.34
    // (envoyproxy/envoy#38024). Older Envoy has neither.
    if (version !== "1.34+" && version !== "1.33") return undefined;
    // The router selects the upstream host after this filter's request phase; StreamInfo keeps
    // it for the response and the access log.
    if (k === "locality") return version === "1.34+" && (s.responseStarted || s.logPhase) ? s.upstreamLocality() : undefined;
    // attemptCount().value_or(0): the router (after this filter) has not tried upstream yet in
    // on_request_headers; one attempt once a response came back (override via properties).
    if (k === "request_attempt_count") return prop.uint(s.responseStarted ? 1 : 0);
    return undefined;
  }
}

type Lookup = (p: PluginIdentity, s: StreamView | null, k: string) => PropertyValue | undefined;

const requestLookup: Lookup = (_p, s, k) => requestValue(s!, k);
const responseLookup: Lookup = (p, s, k) => responseValue(s!, k, p.version);
const connectionLookup: Lookup = (_p, s, k) => connectionValue(s!, k);
const upstreamLookup: Lookup = (p, s, k) => upstreamValue(s!, k, p.version);

/** The attribute maps: a top-level name and its key lookup (Envoy's *Wrapper::operator[]). */
function attribute(p: PluginIdentity, s: StreamView | null, name: string): Lookup | undefined {
  if (name === "xds") return p.version !== "legacy" ? xdsValue : undefined;
  if (!s) return undefined;
  switch (name) {
    case "request":
      return requestLookup;
    case "response":
      return responseLookup;
    case "connection":
      return connectionLookup;
    case "upstream":
      return upstreamLookup;
  }
  return undefined;
}

/** The xds attribute: `node` resolves without a stream; the others need one (expr XDSWrapper). */
function xdsValue(p: PluginIdentity, s: StreamView | null, k: string): PropertyValue | undefined {
  if (k === "node") return p.node;
  if (!s) return undefined;
  switch (k) {
    case "cluster_name":
      return s.info.clusterName;
    case "cluster_metadata":
      return s.info.clusterMetadata === undefined ? undefined : clusterMetadataMessage(s.info.clusterMetadata);
    case "route_name":
      return s.info.routeName;
    case "listener_direction":
      return s.info.direction === undefined ? undefined : prop.int(s.info.direction === "inbound" ? 1 : 2);
  }
  return undefined;
}

function topLevel(p: PluginIdentity, s: StreamView | null, name: string): PropertyValue | undefined {
  const legacy = p.version === "legacy" || p.version === "1.28-1.32";
  const attr = attribute(p, s, name);
  if (attr) return new LookupMap((k) => attr(p, s, k));
  if (legacy) {
    // Pre-#36619 Wasm-only tokens (envoy context.cc PROPERTY_TOKENS before 1.33).
    switch (name) {
      case "node":
        return p.node;
      case "cluster_name":
      case "cluster_metadata":
      case "route_name":
      case "listener_direction":
        return xdsValue(p, s, name);
    }
  }
  if (s && name === "connection_id") return prop.uint(s.connectionId);
  switch (name) {
    case "plugin_name":
      return p.name;
    case "plugin_root_id":
      return p.rootId;
    case "plugin_vm_id":
      return p.vmId;
  }
  const fs = s?.filterState.get(`wasm.${name}`);
  return fs;
}

const segmentCache = new Map<string, string[]>();

function segments(path: string): string[] {
  let segs = segmentCache.get(path);
  if (segs === undefined) {
    segs = path.split("\0");
    // Envoy stops at the end of the path: a trailing NUL adds no empty segment.
    if (segs.length > 1 && segs[segs.length - 1] === "") segs.pop();
    if (segmentCache.size >= 256) segmentCache.clear();
    segmentCache.set(path, segs);
  }
  return segs;
}

/** Resolves a NUL-separated path; undefined = NOT_FOUND. */
export function resolveProperty(p: PluginIdentity, s: StreamView | null, path: string): PropertyValue | undefined {
  const segs = segments(path);
  if (segs[0] === "" && segs.length === 1) return undefined;
  let v: PropertyValue | undefined;
  let i = 1;
  // StreamInfo.properties win path by path: "connection\0uri_san_peer_certificate" given there
  // leaves the built-in connection.mtls readable.
  const user = s?.userTree?.get(segs[0]!);
  if (user !== undefined) {
    for (v = user; i < segs.length && v !== undefined; i++) v = child(v, segs[i]!);
    if (v !== undefined) return v;
    i = 1;
  }
  // Fast path: "<attribute>\0<key>..." looks the key up directly (no wrapper map built).
  const attr = segs.length > 1 ? attribute(p, s, segs[0]!) : undefined;
  if (attr) {
    v = attr(p, s, segs[1]!);
    i = 2;
  } else v = topLevel(p, s, segs[0]!);
  for (; i < segs.length && v !== undefined; i++) v = child(v, segs[i]!);
  return v;
}
