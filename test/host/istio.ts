// What Istio's sidecar puts where a Wasm filter can read it, per Istio version: the inbound
// cluster's metadata (the service it serves) and the downstream peer that the metadata-exchange
// filter leaves in filter state. Values are StreamInfo fields / properties for the host.
import { LookupMap, immutableValue, type PropertyValue } from "./property-value.ts";

/** One entry of `filter_metadata.istio.services` (istio/istio pilot/pkg/networking/core/cluster_builder.go). */
export interface IstioService {
  host: string; // FQDN, e.g. payment.shop.svc.cluster.local
  name: string;
  namespace: string;
}

/**
 * StreamInfo.clusterMetadata of an Istio cluster: `istio.services` lists the services behind
 * it (for an inbound cluster `inbound|<port>||`, the pod's own service), which istio.stats
 * reads for destination_service (istio/proxy source/extensions/filters/http/istio_stats;
 * shape as in istio/proxy testdata/bootstrap/*cluster_metadata*).
 */
export function istioClusterMetadata(services: readonly IstioService[]): Record<string, Record<string, unknown>> {
  return { istio: { services: services.map((s) => ({ host: s.host, name: s.name, namespace: s.namespace })) } };
}

/** A peer as the metadata-exchange filter discovered it (fields of istio/proxy WorkloadMetadataObject). */
export interface IstioPeer {
  workload: string;
  namespace: string;
  name?: string; // pod
  cluster?: string;
  type?: string; // deployment, ...
  service?: string; // canonical service
  revision?: string;
  app?: string;
  version?: string;
  identity?: string;
  /** Istio ≥ 1.29, when the discovery method knows it (workload discovery / baggage). */
  region?: string;
  zone?: string;
  labels?: Record<string, string>;
}

/**
 * How `filter_state.downstream_peer` / `upstream_peer` reads through Envoy's CEL FilterStateWrapper
 * (envoy source/extensions/filters/common/expr/context.cc):
 * - "1.24": a WorkloadMetadataObject (istio/proxy@release-1.24 extensions/common/metadata_object.h,
 *   hasFieldSupport): a whole read is FilterStateObjectWrapper's empty map (ListKeys is empty:
 *   pairs with 0 entries); a leaf read (`...\0workload`) returns getField's string.
 * - "1.24-serialized": the same object on an Envoy whose wrapper has no field access (before
 *   envoyproxy/envoy#36399): serializeAsString's bytes `type=...,workload=...,...`; leaves NOT_FOUND.
 * - "1.25-1.28": a CelState of type google.protobuf.Struct (istio/proxy@release-1.25
 *   peer_metadata/filter.cc setFilterState); exprValue(last=false) parses it into a Struct that
 *   CEL reads as a map, so a whole read is proxy-wasm pairs (`labels` nested pairs), leaves strings.
 * - "1.29+": as 1.25–1.28, plus `region` / `availability_zone` when known
 *   (istio/proxy@release-1.29 extensions/common/metadata_object.cc serializeAsProto).
 */
export type IstioPeerFormat = "1.24" | "1.24-serialized" | "1.25-1.28" | "1.29+";

// The 1.24 object's fields in serializeAsPairs order; getField answers each (empty when unset).
const FIELDS_1_24 = ["type", "workload", "name", "cluster", "namespace", "service", "revision", "app", "version"] as const;

export function istioPeerValue(peer: IstioPeer, format: IstioPeerFormat): PropertyValue {
  const v124: Record<string, string> = {
    type: peer.type ?? "",
    workload: peer.workload,
    name: peer.name ?? "",
    cluster: peer.cluster ?? "",
    namespace: peer.namespace,
    service: peer.service ?? "",
    revision: peer.revision ?? "",
    app: peer.app ?? "",
    version: peer.version ?? "",
  };
  switch (format) {
    case "1.24":
      return new LookupMap(
        (k) => (Object.prototype.hasOwnProperty.call(v124, k) ? v124[k] : undefined),
        () => [],
      );
    case "1.24-serialized":
      return new TextEncoder().encode(
        FIELDS_1_24.filter((k) => v124[k] !== "").map((k) => `${k}=${v124[k]}`).join(","),
      );
    default:
      break; // the Struct formats: below
  }
  // serializeAsProto writes only non-empty fields.
  const out: Record<string, PropertyValue> = {};
  const put = (k: string, v: string | undefined) => {
    if (v !== undefined && v !== "") out[k] = v;
  };
  put("type", peer.type);
  put("workload", peer.workload);
  put("name", peer.name);
  put("cluster", peer.cluster);
  put("namespace", peer.namespace);
  put("service", peer.service);
  put("revision", peer.revision);
  put("app", peer.app);
  put("version", peer.version);
  put("identity", peer.identity);
  if (format === "1.29+") {
    put("region", peer.region);
    put("availability_zone", peer.zone);
  }
  if (peer.labels && Object.keys(peer.labels).length > 0) out.labels = { ...peer.labels };
  // The peer object is set once per connection and never changed after (istio/proxy
  // peer_metadata filter.cc setFilterState), so its encoding is made once per value.
  return immutableValue(out);
}

/** StreamInfo.properties entry for the server side's downstream peer. */
export function downstreamPeerProperties(peer: IstioPeer, format: IstioPeerFormat): Record<string, PropertyValue> {
  return { "filter_state\0downstream_peer": istioPeerValue(peer, format) };
}
