// Per-request label resolution: every label of labels.ts gets its value's id in the series
// table's key. The rules for the labels without a property path follow Istio's standard
// metrics (istio/proxy source/extensions/filters/http/istio_stats/istio_stats.cc); labels read from a property need no code here. Values are interned
// (intern.ts); ids of the configuration's constants are pinned once, so most labels cost no
// string work.
import { Bytes, getHeader, getIntProperty, getProperty, MAP_REQUEST_HEADERS } from "./abi";
import { Config, F_TIER_HEADER, F_TIERS } from "./config";
import { Identity } from "./identity";
import { InternTable } from "./intern";
import {
  normaliseTier, TIER_LOOKUP, TIER_UNKNOWN, decodeFlags, parseCluster, DIR_INBOUND, DIR_OUTBOUND,
  DIR_UNKNOWN, authorityHost, codeString, expandShortName, HOST_EMPTY, HOST_INVALID,
} from "./label-values";
import {
  N_LABELS, labelProperty, L_CONNECTION_SECURITY_POLICY,
  L_DESTINATION_SERVICE, L_PEER_REGION, L_REGION, L_REPORTER, L_RESPONSE_CODE, L_RESPONSE_FLAGS,
  L_SOURCE_NAMESPACE, L_SOURCE_WORKLOAD, L_USER_TIER,
} from "./labels";
import { parsePeer, sanNamespace } from "./peer";
import { SeriesTable } from "./series";
import { Slice, SLICE_BYTES } from "./slice";
import * as S from "./slots";

// Property paths (segments joined by NUL; envoy source/extensions/common/wasm/context.cc
// getProperty): xds.* on Envoy >= 1.33, the bare
// Wasm tokens before (Identity.legacy).
const P_XDS_CLUSTER = staticText("xds\0cluster_name");
const P_XDS_DIRECTION = staticText("xds\0listener_direction");
const P_OLD_CLUSTER = staticText("cluster_name");
const P_OLD_DIRECTION = staticText("listener_direction");
const P_RESPONSE_CODE = staticText("response\0code");
const P_RESPONSE_FLAGS = staticText("response\0flags");
const P_MTLS = staticText("connection\0mtls");
// First URI SAN of the downstream peer certificate, spiffe://<td>/ns/<namespace>/sa/<sa>.
const P_PEER_SAN = staticText("connection\0uri_san_peer_certificate");
const P_UPSTREAM_REGION = staticText("upstream\0locality\0region");
// The service an inbound cluster serves: istiod puts it in the cluster's metadata
// (istio/istio pilot/pkg/networking/core/cluster_builder.go, filter_metadata.istio.services),
// and istio.stats reads destination_service from there (istio/proxy istio_stats.cc), so it is
// the FQDN the client side reports too. Envoy < 1.33 has the bare `cluster_metadata` token.
const P_XDS_SERVICE_HOST = staticText("xds\0cluster_metadata\0filter_metadata\0istio\0services\00\0host");
const P_OLD_SERVICE_HOST = staticText("cluster_metadata\0filter_metadata\0istio\0services\00\0host");
// Istio >= 1.24 metadata exchange stores the downstream peer here (istio/proxy
// source/extensions/filters/http/peer_metadata/filter.cc).
// Read whole in one call (see peer.ts); if the value parses in no known form, or carries
// neither workload nor namespace (Istio 1.24's object reads whole as an empty map), the two
// fields are read one by one.
const P_PEER = staticText("filter_state\0downstream_peer");
const P_PEER_WORKLOAD = staticText("filter_state\0downstream_peer\0workload");
const P_PEER_NAMESPACE = staticText("filter_state\0downstream_peer\0namespace");
const H_AUTHORITY = staticText(":authority");

/** Status codes below this are cached per id (one array slot each). */
const CODE_CACHE = 600;

// Bytes handed back by the host reads and the label-value rules (valid within one callback).
const VAL = changetype<Slice>(memory.data(SLICE_BYTES, 8));
const OUT = changetype<Slice>(memory.data(SLICE_BYTES, 8));
const PEER_NS = changetype<Slice>(memory.data(SLICE_BYTES, 8));
const PEER_REGION = changetype<Slice>(memory.data(SLICE_BYTES, 8));

// Inbound service per cluster name: a sidecar has a handful of inbound clusters (one per
// service port), so a few slots with the name's bytes; round-robin replacement past that.
const SVC_SLOTS = 8;
const SVC_NAME_MAX: usize = 96;
/** Cached: the cluster's metadata has no usable service host (fall back to :authority). */
const SVC_NONE: i32 = -2;

export class LabelResolver {
  private strings: InternTable;
  private table: SeriesTable;
  private legacy: bool;
  readonly tierHeader: Bytes;
  // pinned label ids
  idUnknown: i32; idOther: i32; idOverflow: i32; idSource: i32; idDestination: i32;
  idMtls: i32; idNone: i32; idDash: i32; idRegion: i32; idWorkload: i32; idNamespace: i32;
  private tierIds: StaticArray<i32>;
  // per label: the property it is read from (labels.ts), null when a rule resolves it
  private paths: StaticArray<Bytes | null>;
  // caches (valid for one intern generation)
  private codeIds: StaticArray<i32> = new StaticArray<i32>(CODE_CACHE);
  private cacheGen: u32 = 0xffffffff;
  private lastFlags: u64 = 0;
  private lastFlagsId: i32 = -1;
  private svcNames: StaticArray<u8> = new StaticArray<u8>(SVC_SLOTS * <i32>SVC_NAME_MAX);
  private svcLens: StaticArray<i32> = new StaticArray<i32>(SVC_SLOTS);
  private svcIds: StaticArray<i32> = new StaticArray<i32>(SVC_SLOTS);
  private svcCount: i32 = 0;
  private svcNext: i32 = 0;
  private namespace: Bytes;

  /** Interns (and pins) the configuration's constants in `strings`. */
  constructor(config: Config, id: Identity, strings: InternTable, table: SeriesTable) {
    const tiers = config.strings(F_TIERS);
    const paths = new StaticArray<Bytes | null>(N_LABELS);
    for (let i = 0; i < N_LABELS; i++) {
      const path = labelProperty(i);
      if (path.length > 0) unchecked(paths[i] = new Bytes(path));
    }
    const st = strings;
    const overflow = st.internString("overflow");
    st.overflowId = overflow;
    const unknown = st.internString("unknown");
    const other = st.internString("other");
    st.otherId = other;
    this.idOverflow = overflow;
    this.idUnknown = unknown;
    this.idOther = other;
    this.idSource = st.internString("source");
    this.idDestination = st.internString("destination");
    this.idMtls = st.internString("mutual_tls");
    this.idNone = st.internString("none");
    this.idDash = st.internString("-");
    this.idRegion = st.internString(id.region);
    this.idWorkload = st.internString(id.workload);
    this.idNamespace = st.internString(id.namespace);
    // A tier may equal another constant ("none", the region...): membership, not an id range.
    const tierIds = new StaticArray<i32>(tiers.length);
    for (let i = 0; i < tiers.length; i++) unchecked(tierIds[i] = st.internString(tiers[i]));
    st.pin();
    this.tierIds = tierIds;
    this.paths = paths;
    this.strings = strings;
    this.table = table;
    this.legacy = id.legacy;
    this.tierHeader = new Bytes(config.str(F_TIER_HEADER));
    this.namespace = new Bytes(id.namespace == "unknown" ? "" : id.namespace);
  }

  /** Tier label id of the header bytes in [p, p+n). */
  tierId(p: usize, n: usize): i32 {
    const r = normaliseTier(p, n, OUT);
    if (r == TIER_UNKNOWN) return this.idUnknown;
    if (r != TIER_LOOKUP) return this.idOther;
    const id = this.strings.find(OUT.ptr, OUT.len);
    if (id < 0) return this.idOther;
    const tiers = this.tierIds;
    for (let i = 0; i < tiers.length; i++) if (unchecked(tiers[i]) == id) return id;
    return this.idOther;
  }

  /** Reads the tier header (request headers must be readable: on_request_headers or on_log). */
  readTier(): i32 {
    if (!getHeader(MAP_REQUEST_HEADERS, this.tierHeader.text, VAL)) return this.idUnknown;
    return this.tierId(VAL.ptr, VAL.len);
  }

  /** Sets every label of stream `s` (in proxy_on_log) into the table's key. */
  // @ts-ignore: decorator
  @inline
  resolve(s: usize): void {
    this.checkCaches();
    const st = this.strings;
    const table = this.table;
    const f = S.flags(s);

    let tier = S.tier(s);
    if ((f & S.F_TIER) == 0) tier = this.readTier();

    // reporter and destination from the cluster name (`<direction>|<port>|<subset>|<host>`, istio
    // pilot/pkg/model/service.go BuildSubsetKey), else the listener direction
    let dir = DIR_UNKNOWN;
    let dest = -1;
    if (getProperty(this.legacy ? P_OLD_CLUSTER : P_XDS_CLUSTER, VAL)) {
      dir = parseCluster(VAL.ptr, VAL.len, OUT);
      if (OUT.len > 0) dest = st.intern(OUT.ptr, OUT.len);
      else if (dir == DIR_INBOUND) dest = this.inboundServiceId(VAL.ptr, VAL.len);
    }
    if (dir == DIR_UNKNOWN) {
      dir = getIntProperty(this.legacy ? P_OLD_DIRECTION : P_XDS_DIRECTION) == 1 ? DIR_INBOUND : DIR_OUTBOUND;
    }
    if (dest < 0) dest = this.authorityId(dir == DIR_INBOUND);

    if (dir == DIR_INBOUND) {
      table.setLabel(L_REPORTER, this.idDestination);
      const mtls = getIntProperty(P_MTLS) == 1;
      this.peerLabels(mtls);
      table.setLabel(L_CONNECTION_SECURITY_POLICY, mtls ? this.idMtls : this.idNone);
    } else {
      table.setLabel(L_REPORTER, this.idSource);
      table.setLabel(L_SOURCE_WORKLOAD, this.idWorkload);
      table.setLabel(L_SOURCE_NAMESPACE, this.idNamespace);
      table.setLabel(L_CONNECTION_SECURITY_POLICY, this.idUnknown);
      table.setLabel(L_PEER_REGION, this.propertyId(P_UPSTREAM_REGION));
    }
    table.setLabel(L_DESTINATION_SERVICE, dest);

    let code = S.status(s);
    if ((f & S.F_T2) == 0) {
      const c = getIntProperty(P_RESPONSE_CODE);
      code = c > 0 && c < 0x7fffffff ? <u32>c : 0;
    }
    table.setLabel(L_RESPONSE_CODE, this.codeId(code));
    // Read on every request, clean 2xx included: Istio puts the fault filter after STATS-phase
    // Wasm (istio/istio pilot/pkg/networking/core/listener_builder.go: wasm STATS, ..., fault,
    // cors, stats, router), so an injected delay lands in `upstream`; DI is what explains it.
    const flags = getIntProperty(P_RESPONSE_FLAGS);
    table.setLabel(L_RESPONSE_FLAGS, this.flagsId(flags > 0 ? <u64>flags : 0));
    table.setLabel(L_USER_TIER, tier);
    table.setLabel(L_REGION, this.idRegion);

    const paths = this.paths;
    for (let i = 0; i < N_LABELS; i++) {
      const path = unchecked(paths[i]);
      if (path !== null) table.setLabel(i, this.propertyId(path.text));
    }
  }

  private checkCaches(): void {
    if (this.cacheGen == this.strings.generation) return;
    this.cacheGen = this.strings.generation;
    for (let i = 0; i < CODE_CACHE; i++) unchecked(this.codeIds[i] = -1);
    this.lastFlagsId = -1;
    this.svcCount = 0;
  }

  /** Forgets the inbound services read so far (each flush): an xDS update can bind another
   * service to a cluster name, and one read per cluster per window costs nothing. */
  forgetServices(): void { this.svcCount = 0; }

  /** destination_service of an inbound cluster `name` (bytes at p, n): the service host in its
   * metadata, read once per cluster name and window; -1 when it has none (the caller uses
   * :authority). */
  private inboundServiceId(p: usize, n: usize): i32 {
    const names = changetype<usize>(this.svcNames);
    for (let i = 0; i < this.svcCount; i++) {
      if (<usize>unchecked(this.svcLens[i]) == n && memory.compare(names + <usize>i * SVC_NAME_MAX, p, n) == 0) {
        const id = unchecked(this.svcIds[i]);
        return id == SVC_NONE ? -1 : id;
      }
    }
    let id = SVC_NONE;
    let slot = -1;
    if (n <= SVC_NAME_MAX) { // a longer name is never cached (no Istio inbound cluster is)
      slot = this.svcCount < SVC_SLOTS ? this.svcCount++ : this.svcNext;
      if (slot == this.svcNext) this.svcNext = (this.svcNext + 1) % SVC_SLOTS;
      memory.copy(names + <usize>slot * SVC_NAME_MAX, p, n); // before VAL is reused
      unchecked(this.svcLens[slot] = <i32>n);
    }
    if (getProperty(this.legacy ? P_OLD_SERVICE_HOST : P_XDS_SERVICE_HOST, VAL)) {
      const r = authorityHost(VAL.ptr, VAL.len, OUT);
      if (r == HOST_INVALID) id = this.idOther;
      else if (r != HOST_EMPTY) id = this.strings.intern(OUT.ptr, OUT.len);
    }
    if (slot >= 0) unchecked(this.svcIds[slot] = id);
    return id == SVC_NONE ? -1 : id;
  }

  private codeId(code: u32): i32 {
    if (code < <u32>CODE_CACHE) {
      const c = unchecked(this.codeIds[code]);
      if (c >= 0) return c;
    }
    codeString(code, OUT);
    const id = this.strings.intern(OUT.ptr, OUT.len);
    if (code < <u32>CODE_CACHE) unchecked(this.codeIds[code] = id);
    return id;
  }

  private flagsId(flags: u64): i32 {
    if (flags == 0) return this.idDash;
    if (flags == this.lastFlags && this.lastFlagsId >= 0) return this.lastFlagsId;
    decodeFlags(flags, OUT);
    const id = this.strings.intern(OUT.ptr, OUT.len);
    this.lastFlags = flags;
    this.lastFlagsId = id;
    return id;
  }

  /** The :authority host as destination_service: `other` when it is not a valid host (it is
   * client-controlled); on inbound a dotless name is expanded in the proxy's namespace, the
   * FQDN a Kubernetes short name means (and the one the client side reports). */
  private authorityId(inbound: bool): i32 {
    if (!getHeader(MAP_REQUEST_HEADERS, H_AUTHORITY, VAL)) return this.idUnknown;
    const r = authorityHost(VAL.ptr, VAL.len, OUT);
    if (r == HOST_EMPTY) return this.idUnknown;
    if (r == HOST_INVALID) return this.idOther;
    if (inbound) expandShortName(OUT, this.namespace.ptr, this.namespace.len);
    return this.strings.intern(OUT.ptr, OUT.len);
  }

  private propertyId(path: usize): i32 {
    if (!getProperty(path, VAL) || VAL.len == 0) return this.idUnknown;
    return this.strings.intern(VAL.ptr, VAL.len);
  }

  /** source_workload / source_namespace / peer_region of an inbound request: the downstream
   * peer that Istio's metadata exchange left in filter state (see peer.ts), else unknown. */
  private peerLabels(mtls: bool): void {
    let wl = this.idUnknown;
    let ns = this.idUnknown;
    let region = this.idUnknown;
    if (getProperty(P_PEER, VAL)) {
      if (parsePeer(VAL.ptr, VAL.len, OUT, PEER_NS, PEER_REGION) && (OUT.len > 0 || PEER_NS.len > 0)) {
        if (OUT.len > 0) wl = this.strings.intern(OUT.ptr, OUT.len);
        if (PEER_NS.len > 0) ns = this.strings.intern(PEER_NS.ptr, PEER_NS.len);
        // Istio >= 1.29 only, and only when the peer's discovery knew it.
        if (PEER_REGION.len > 0) region = this.strings.intern(PEER_REGION.ptr, PEER_REGION.len);
      } else {
        wl = this.propertyId(P_PEER_WORKLOAD);
        ns = this.propertyId(P_PEER_NAMESPACE);
      }
    }
    this.table.setLabel(L_PEER_REGION, region);
    // Istio takes the namespace from the peer's SPIFFE SAN first, then from peer metadata
    // (istio/proxy source/extensions/filters/http/istio_stats/istio_stats.cc populatePeerInfo).
    // The SAN is read only when metadata gave none: one host call saved on the typical inbound
    // request; the two agree unless a client forges its metadata.
    if (ns == this.idUnknown && mtls && getProperty(P_PEER_SAN, VAL) && sanNamespace(VAL.ptr, VAL.len, OUT)) {
      ns = this.strings.intern(OUT.ptr, OUT.len);
    }
    this.table.setLabel(L_SOURCE_WORKLOAD, wl);
    this.table.setLabel(L_SOURCE_NAMESPACE, ns);
  }
}
