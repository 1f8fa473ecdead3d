// One configured root context: its validated config, the proxy's identity (read once, at
// configure), the series table, the per-request label resolution and the flush cycle.
import { proxy_get_current_time_nanoseconds, proxy_set_tick_period_milliseconds } from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import {
  Bytes, getProperty, getIntProperty, getHeader, valPtr, valLen, monoNow, random64, logLine,
  MAP_REQUEST_HEADERS, LOG_INFO, LOG_WARN,
} from "./abi";
import { Config } from "./config";
import { InternTable } from "./intern";
import { SeriesTable, T_REQUEST, T_UPSTREAM, T_PROXY, T_APP, T_NETWORK } from "./series";
import { BatchEncoder, Counters, Identity } from "./encode";
import { Writer } from "./msgpack";
import { Outbox } from "./flush";
import {
  SCRATCH, scratchLen, normaliseTier, TIER_LOOKUP, TIER_UNKNOWN, decodeFlags, parseCluster,
  DIR_INBOUND, DIR_OUTBOUND, DIR_UNKNOWN, fqdnOff, fqdnLen, authorityHost, codeString,
} from "./tags";
import * as S from "./slots";
import { parsePeer, wlPtr, wlLen, nsPtr, nsLen } from "./peer";

// Property paths (segments joined by NUL; reference §2.1). Envoy >= 1.33 only has xds.*;
// older Envoy has the bare Wasm tokens (node, cluster_name, listener_direction).
const P_XDS_NODE_ID = new Bytes("xds\0node\0id");
const P_XDS_WORKLOAD = new Bytes("xds\0node\0metadata\0WORKLOAD_NAME");
const P_XDS_NAMESPACE = new Bytes("xds\0node\0metadata\0NAMESPACE");
const P_XDS_REGION = new Bytes("xds\0node\0locality\0region");
const P_XDS_LABEL_REGION = new Bytes("xds\0node\0metadata\0LABELS\0topology.kubernetes.io/region");
const P_XDS_CLUSTER = new Bytes("xds\0cluster_name");
const P_XDS_DIRECTION = new Bytes("xds\0listener_direction");
const P_OLD_NODE_ID = new Bytes("node\0id");
const P_OLD_WORKLOAD = new Bytes("node\0metadata\0WORKLOAD_NAME");
const P_OLD_NAMESPACE = new Bytes("node\0metadata\0NAMESPACE");
const P_OLD_REGION = new Bytes("node\0locality\0region");
const P_OLD_LABEL_REGION = new Bytes("node\0metadata\0LABELS\0topology.kubernetes.io/region");
const P_OLD_CLUSTER = new Bytes("cluster_name");
const P_OLD_DIRECTION = new Bytes("listener_direction");
const P_RESPONSE_CODE = new Bytes("response\0code");
const P_RESPONSE_FLAGS = new Bytes("response\0flags");
const P_MTLS = new Bytes("connection\0mtls");
// First URI SAN of the downstream peer certificate, spiffe://<td>/ns/<namespace>/sa/<sa>.
const P_PEER_SAN = new Bytes("connection\0uri_san_peer_certificate");
const P_UPSTREAM_REGION = new Bytes("upstream\0locality\0region");
// Istio >= 1.24 metadata exchange stores the downstream peer here (reference §3.6).
// Read whole in one call (see peer.ts); if the value parses neither as a protobuf Struct nor
// as pairs, the two fields are read one by one.
const P_PEER = new Bytes("filter_state\0downstream_peer");
const P_PEER_WORKLOAD = new Bytes("filter_state\0downstream_peer\0workload");
const P_PEER_NAMESPACE = new Bytes("filter_state\0downstream_peer\0namespace");
const H_AUTHORITY = new Bytes(":authority");

const WALL_OUT = memory.data(8, 8);

function readString(path: Bytes): string {
  if (!getProperty(path) || valLen == 0) return "";
  return String.UTF8.decodeUnsafe(valPtr, valLen);
}

function hex64(v: u64): string {
  let s = "";
  for (let i = 15; i >= 0; i--) {
    const d = <i32>((v >> (<u64>i * 4)) & 0xf);
    s += String.fromCharCode(d < 10 ? 0x30 + d : 0x61 + d - 10);
  }
  return s;
}

export class Plugin {
  rootId: u32;
  config: Config;
  legacy: bool = false;
  identity: Identity = new Identity();
  vmId: string;
  seq: u64 = 0;
  windowStartMs: u64 = 0;
  counters: Counters;
  strings: InternTable = new InternTable();
  table: SeriesTable;
  encoder: BatchEncoder = new BatchEncoder();
  work: Writer = new Writer();
  outbox: Outbox;
  tierHeader: Bytes;
  appMetric: Bytes;
  // pinned label ids
  idUnknown: i32; idOther: i32; idOverflow: i32; idSource: i32; idDestination: i32;
  idMtls: i32; idNone: i32; idDash: i32; idRegion: i32; idWorkload: i32; idNamespace: i32;
  tierIds: StaticArray<i32> = new StaticArray<i32>(0);
  // caches (valid for one intern generation)
  private codeIds: StaticArray<i32> = new StaticArray<i32>(600);
  private cacheGen: u32 = 0xffffffff;
  private lastFlags: u64 = 0;
  private lastFlagsId: i32 = -1;
  overflowLogged: bool = false;
  done: bool = false;

  constructor(rootId: u32, config: Config) {
    const counters = new Counters();
    this.outbox = new Outbox(config, counters);
    this.counters = counters;
    this.tierHeader = new Bytes(config.tierHeader);
    this.appMetric = new Bytes(config.appTimingMetric);
    this.table = new SeriesTable(config.maxSeries);
    this.rootId = rootId;
    this.config = config;
    this.vmId = hex64(random64());

    // The proxy's identity and region: once per configuration, never per request.
    const id = this.identity;
    let nodeId = readString(P_XDS_NODE_ID);
    if (nodeId.length == 0 && getProperty(P_OLD_NODE_ID)) {
      this.legacy = true;
      nodeId = valLen > 0 ? String.UTF8.decodeUnsafe(valPtr, valLen) : "";
    }
    if (nodeId.length > 0) id.nodeId = nodeId;
    const wl = readString(this.legacy ? P_OLD_WORKLOAD : P_XDS_WORKLOAD);
    if (wl.length > 0) id.workload = wl;
    const ns = readString(this.legacy ? P_OLD_NAMESPACE : P_XDS_NAMESPACE);
    if (ns.length > 0) id.namespace = ns;
    let region = this.legacy ? "" : readString(P_XDS_REGION);
    if (region.length == 0) region = readString(P_OLD_REGION);
    if (region.length == 0) region = readString(this.legacy ? P_OLD_LABEL_REGION : P_XDS_LABEL_REGION);
    if (region.length == 0 && !this.legacy) region = readString(P_OLD_LABEL_REGION);
    if (region.length == 0) region = config.regionDefault;
    id.region = region;

    const st = this.strings;
    this.idOverflow = st.internString("overflow");
    st.overflowId = this.idOverflow;
    this.idUnknown = st.internString("unknown");
    this.idOther = st.internString("other");
    st.otherId = this.idOther;
    this.idSource = st.internString("source");
    this.idDestination = st.internString("destination");
    this.idMtls = st.internString("mutual_tls");
    this.idNone = st.internString("none");
    this.idDash = st.internString("-");
    this.idRegion = st.internString(id.region);
    this.idWorkload = st.internString(id.workload);
    this.idNamespace = st.internString(id.namespace);
    // A tier may equal another constant ("none", the region...): membership, not an id range.
    const tierIds = new StaticArray<i32>(config.tiers.length);
    for (let i = 0; i < config.tiers.length; i++) unchecked(tierIds[i] = st.internString(config.tiers[i]));
    this.tierIds = tierIds;
    st.pin();

    proxy_get_current_time_nanoseconds(WALL_OUT);
    this.windowStartMs = load<u64>(WALL_OUT) / 1000000;
    proxy_set_tick_period_milliseconds(<u32>config.flushIntervalMs);
    logLine(LOG_INFO, "meshlat configured vm=" + this.vmId + " root=" + rootId.toString() +
      " region=" + id.region + " workload=" + id.workload + " namespace=" + id.namespace +
      " legacy=" + (this.legacy ? "true" : "false") + " config=" + config.toJson());
  }

  free(): void {
    this.strings.free();
    this.table.free();
    this.encoder.free();
    this.work.free();
    this.outbox.free();
  }

  /** Tier label id of the header bytes in [p, p+n). */
  tierId(p: usize, n: usize): i32 {
    const r = normaliseTier(p, n);
    if (r == TIER_UNKNOWN) return this.idUnknown;
    if (r != TIER_LOOKUP) return this.idOther;
    const id = this.strings.find(SCRATCH, scratchLen);
    if (id < 0) return this.idOther;
    const tiers = this.tierIds;
    for (let i = 0; i < tiers.length; i++) if (unchecked(tiers[i]) == id) return id;
    return this.idOther;
  }

  /** Reads the tier header (request headers must be readable: on_request_headers or on_log). */
  readTier(): i32 {
    if (!getHeader(MAP_REQUEST_HEADERS, this.tierHeader)) return this.idUnknown;
    return this.tierId(valPtr, valLen);
  }

  private checkCaches(): void {
    if (this.cacheGen == this.strings.generation) return;
    this.cacheGen = this.strings.generation;
    for (let i = 0; i < 600; i++) unchecked(this.codeIds[i] = -1);
    this.lastFlagsId = -1;
  }

  private codeId(code: u32): i32 {
    if (code < 600) {
      const c = unchecked(this.codeIds[code]);
      if (c >= 0) return c;
    }
    codeString(code);
    const id = this.strings.intern(SCRATCH, scratchLen);
    if (code < 600) unchecked(this.codeIds[code] = id);
    return id;
  }

  private flagsId(flags: u64): i32 {
    if (flags == 0) return this.idDash;
    if (flags == this.lastFlags && this.lastFlagsId >= 0) return this.lastFlagsId;
    decodeFlags(flags);
    const id = this.strings.intern(SCRATCH, scratchLen);
    this.lastFlags = flags;
    this.lastFlagsId = id;
    return id;
  }

  private authorityId(): i32 {
    if (!getHeader(MAP_REQUEST_HEADERS, H_AUTHORITY)) return this.idUnknown;
    if (!authorityHost(valPtr, valLen)) return this.idUnknown;
    return this.strings.intern(SCRATCH, scratchLen);
  }

  private propertyId(path: Bytes): i32 {
    if (!getProperty(path) || valLen == 0) return this.idUnknown;
    return this.strings.intern(valPtr, valLen);
  }

  /** source_workload / source_namespace of an inbound request: the downstream peer that
   * Istio's metadata exchange left in filter state (reference §3.6), else unknown. */
  private peerLabels(mtls: bool): void {
    const table = this.table;
    let wl = this.idUnknown;
    let ns = this.idUnknown;
    if (getProperty(P_PEER)) {
      if (parsePeer(valPtr, valLen)) {
        if (wlLen > 0) wl = this.strings.intern(wlPtr, wlLen);
        if (nsLen > 0) ns = this.strings.intern(nsPtr, nsLen);
      } else {
        wl = this.propertyId(P_PEER_WORKLOAD);
        ns = this.propertyId(P_PEER_NAMESPACE);
      }
    }
    // Istio takes the namespace from the peer's SPIFFE SAN first, then from peer metadata
    // (istio/proxy source/extensions/filters/http/istio_stats/istio_stats.cc populatePeerInfo).
    // The SAN is read only when metadata gave none: one host call saved on the typical inbound
    // request; the two agree unless a client forges its metadata.
    if (ns == this.idUnknown && mtls && getProperty(P_PEER_SAN) && sanNamespace(valPtr, valLen)) {
      ns = this.strings.intern(sanNsPtr, sanNsLen);
    }
    table.setLabel(1, wl);
    table.setLabel(2, ns);
  }

  /** proxy_on_log: resolve the labels, fold the timings into the series table. */
  record(s: usize): void {
    this.checkCaches();
    const st = this.strings;
    const table = this.table;
    const f = S.flags(s);
    st.full = false;

    let tier = S.tier(s);
    if ((f & S.F_TIER) == 0) tier = this.readTier();

    // reporter and destination from the cluster name (reference §3.3), else the listener direction
    let dir = DIR_UNKNOWN;
    let dest = -1;
    if (getProperty(this.legacy ? P_OLD_CLUSTER : P_XDS_CLUSTER)) {
      dir = parseCluster(valPtr, valLen);
      if (fqdnLen > 0) dest = st.intern(valPtr + fqdnOff, fqdnLen);
    }
    if (dir == DIR_UNKNOWN) {
      dir = getIntProperty(this.legacy ? P_OLD_DIRECTION : P_XDS_DIRECTION) == 1 ? DIR_INBOUND : DIR_OUTBOUND;
    }
    if (dest < 0) dest = this.authorityId();

    if (dir == DIR_INBOUND) {
      table.setLabel(0, this.idDestination);
      const mtls = getIntProperty(P_MTLS) == 1;
      this.peerLabels(mtls);
      table.setLabel(6, mtls ? this.idMtls : this.idNone);
      table.setLabel(9, this.idUnknown);
    } else {
      table.setLabel(0, this.idSource);
      table.setLabel(1, this.idWorkload);
      table.setLabel(2, this.idNamespace);
      table.setLabel(6, this.idUnknown);
      table.setLabel(9, this.propertyId(P_UPSTREAM_REGION));
    }
    table.setLabel(3, dest);

    let code = S.status(s);
    if ((f & S.F_T2) == 0) {
      const c = getIntProperty(P_RESPONSE_CODE);
      code = c > 0 && c < 0x7fffffff ? <u32>c : 0;
    }
    table.setLabel(4, this.codeId(code));
    // Read on every request, clean 2xx included: Istio puts the fault filter after STATS-phase
    // Wasm (istio/istio pilot/pkg/networking/core/listener_builder.go: wasm STATS, ..., fault,
    // cors, stats, router), so an injected delay lands in `upstream`; DI is what explains it.
    const flags = getIntProperty(P_RESPONSE_FLAGS);
    table.setLabel(5, this.flagsId(flags > 0 ? <u64>flags : 0));
    table.setLabel(7, tier);
    table.setLabel(8, this.idRegion);

    // A label value the full string table could not take folds the whole request into the
    // catch-all: `overflow` never shows in a series of real labels, and the fold is counted.
    const e = st.full ? table.catchAll(this.idOverflow) : table.lookup(this.idOverflow);
    table.addCount(e);
    this.counters.requests++;

    if ((f & S.F_T0) != 0) {
      const t0 = S.t0(s);
      const t3 = (f & S.F_T3) != 0 ? S.t3(s) : monoNow();
      const totalUs = nsToUsSafe(t3, t0);
      table.observe(e, T_REQUEST, totalUs);
      if ((f & S.F_T2) != 0) {
        // response before the request ended (early reply while uploading): measure from t0,
        // also when the upload ends after the response started (t1 > t2)
        const t2 = S.t2(s);
        const t1 = (f & S.F_T1) != 0 && S.t1(s) <= t2 ? S.t1(s) : t0;
        let upUs = nsToUsSafe(t2, t1);
        if (upUs > totalUs) upUs = totalUs;
        table.observe(e, T_UPSTREAM, upUs);
        table.observe(e, T_PROXY, totalUs - upUs);
        if ((f & S.F_APP) != 0) {
          const app = S.app(s);
          table.observe(e, T_APP, app);
          table.observe(e, T_NETWORK, upUs > app ? upUs - app : 0);
        }
      }
    }
    if (table.overflowUsed && !this.overflowLogged) {
      this.overflowLogged = true;
      logLine(LOG_WARN, "FLT_ERR_SERIES_OVERFLOW: series table (max_series=" +
        this.config.maxSeries.toString() + ") or label-string table full; further label sets fold into 'overflow'");
    }
  }

  /** Ends the current window: a non-empty table becomes the next batch in the outbox. */
  closeWindow(): void {
    proxy_get_current_time_nanoseconds(WALL_OUT);
    let nowMs = load<u64>(WALL_OUT) / 1000000;
    // A wall clock stepped back (NTP) must not invert the window: the aggregator answers 400
    // ("start is after end") and the batch would be lost.
    if (nowMs < this.windowStartMs) nowMs = this.windowStartMs;
    const table = this.table;
    if (!table.isEmpty()) {
      this.counters.foldedRequests += table.folded;
      this.outbox.makeRoom(); // before encoding, so this batch's counters include the drop
      this.seq++;
      this.encoder.encode(this.work, this.identity, this.vmId, this.seq, this.windowStartMs,
        nowMs, table, this.strings, this.counters);
      table.clear();
      if (this.strings.crowded()) this.strings.compact();
      this.outbox.push(this.work, this.seq);
    }
    this.windowStartMs = nowMs;
  }

  /** proxy_on_tick: close the window and deliver what waits. */
  tick(): void {
    this.outbox.tick();
    this.closeWindow();
    this.outbox.pump();
  }
}

let sanNsPtr: usize = 0;
let sanNsLen: usize = 0;

/** The `<namespace>` of a `.../ns/<namespace>/...` principal (istio_stats.cc getNamespace);
 * false when there is no non-empty one. */
function sanNamespace(p: usize, n: usize): bool {
  for (let i: usize = 0; i + 4 <= n; i++) {
    if (load<u32>(p + i) != 0x2f736e2f) continue; // "/ns/"
    const b = i + 4;
    let e = b;
    while (e < n && load<u8>(p + e) != 0x2f) e++;
    sanNsPtr = p + b;
    sanNsLen = e - b;
    return e > b;
  }
  return false;
}

/** (a - b) in µs, rounded; 0 if the clock went backwards. */
// @ts-ignore: decorator
@inline
function nsToUsSafe(a: u64, b: u64): u64 {
  return a > b ? (a - b + 500) / 1000 : 0;
}
