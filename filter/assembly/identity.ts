// The proxy's identity (node id, workload, namespace, region): read from host properties once
// per configuration, never per request, and carried by every batch (wire `proxy`). Also tells
// which property names the host has: Envoy >= 1.33 only has xds.*, older Envoy the bare Wasm
// tokens (node, cluster_name, listener_direction) (envoyproxy/envoy#36619 removed them;
// source/extensions/common/wasm/context.cc PROPERTY_TOKENS).
import { getProperty } from "./abi";
import { Slice, SLICE_BYTES } from "./slice";

// Property paths (segments joined by NUL).
const P_XDS_NODE_ID = staticText("xds\0node\0id");
const P_XDS_WORKLOAD = staticText("xds\0node\0metadata\0WORKLOAD_NAME");
const P_XDS_NAMESPACE = staticText("xds\0node\0metadata\0NAMESPACE");
const P_XDS_REGION = staticText("xds\0node\0locality\0region");
const P_XDS_LABEL_REGION = staticText("xds\0node\0metadata\0LABELS\0topology.kubernetes.io/region");
const P_OLD_NODE_ID = staticText("node\0id");
const P_OLD_WORKLOAD = staticText("node\0metadata\0WORKLOAD_NAME");
const P_OLD_NAMESPACE = staticText("node\0metadata\0NAMESPACE");
const P_OLD_REGION = staticText("node\0locality\0region");
const P_OLD_LABEL_REGION = staticText("node\0metadata\0LABELS\0topology.kubernetes.io/region");

const VAL = changetype<Slice>(memory.data(SLICE_BYTES, 8));

function readString(path: usize): string {
  if (!getProperty(path, VAL) || VAL.len == 0) return "";
  return String.UTF8.decodeUnsafe(VAL.ptr, VAL.len);
}

export class Identity {
  nodeId: string = "unknown";
  workload: string = "unknown";
  namespace: string = "unknown";
  region: string = "unknown";
  /** The host has only the pre-xds property names (Envoy < 1.33). */
  legacy: bool = false;
}

/** Reads the identity; `regionDefault` when no region property is set. */
// @ts-ignore: decorator
@inline
export function readIdentity(regionDefault: string): Identity {
  const id = new Identity();
  let nodeId = readString(P_XDS_NODE_ID);
  if (nodeId.length == 0 && getProperty(P_OLD_NODE_ID, VAL)) {
    id.legacy = true;
    nodeId = VAL.len > 0 ? String.UTF8.decodeUnsafe(VAL.ptr, VAL.len) : "";
  }
  const legacy = id.legacy;
  if (nodeId.length > 0) id.nodeId = nodeId;
  const wl = readString(legacy ? P_OLD_WORKLOAD : P_XDS_WORKLOAD);
  if (wl.length > 0) id.workload = wl;
  const ns = readString(legacy ? P_OLD_NAMESPACE : P_XDS_NAMESPACE);
  if (ns.length > 0) id.namespace = ns;
  let region = legacy ? "" : readString(P_XDS_REGION);
  if (region.length == 0) region = readString(P_OLD_REGION);
  if (region.length == 0) region = readString(legacy ? P_OLD_LABEL_REGION : P_XDS_LABEL_REGION);
  if (region.length == 0 && !legacy) region = readString(P_OLD_LABEL_REGION);
  if (region.length == 0) region = regionDefault;
  id.region = region;
  return id;
}
