// The downstream peer Istio's metadata exchange leaves in filter state (`downstream_peer`,
// istio/proxy source/extensions/filters/http/peer_metadata/filter.cc), read whole in one host call, as each Istio version serves it through Envoy's
// CEL FilterStateWrapper (envoy source/extensions/filters/common/expr/context.cc):
// - Istio >= 1.25: a CelState of type google.protobuf.Struct (istio/proxy peer_metadata
//   filter.cc setFilterState); read whole, CelState::exprValue(last=false) turns it into a CEL
//   map, which the Wasm host serializes as proxy-wasm pairs (nested pairs for `labels`). Istio
//   >= 1.29 adds `region` / `availability_zone` when the discovery method knows them
//   (istio/proxy extensions/common/metadata_object.cc serializeAsProto).
// - Istio 1.24: a WorkloadMetadataObject with field support, read whole as an empty map (its
//   wrapper lists no keys; the caller then reads the fields one by one), or, where the CEL
//   wrapper has no field access, its serializeAsString `type=...,workload=...,namespace=...`.
// Also the namespace of a peer's SPIFFE identity. Results are ranges of the input, handed back
// through the caller's Slices.
import { Slice } from "./slice";

// @ts-ignore: decorator
@inline
function isKey(p: usize, n: usize, k: string): bool {
  if (n != <usize>k.length) return false;
  for (let i: usize = 0; i < n; i++) if (<i32>load<u8>(p + i) != k.charCodeAt(<i32>i)) return false;
  return true;
}

function take(kp: usize, kl: usize, vp: usize, vl: usize, wl: Slice, ns: Slice, region: Slice): void {
  if (isKey(kp, kl, "workload")) wl.set(vp, vl);
  else if (isKey(kp, kl, "namespace")) ns.set(vp, vl);
  else if (isKey(kp, kl, "region")) region.set(vp, vl);
}

/** proxy-wasm pairs: u32 count, (u32 klen, u32 vlen) each, then NUL-terminated keys/values. */
function parsePairs(p: usize, n: usize, wl: Slice, ns: Slice, region: Slice): bool {
  if (n < 4) return false;
  const count = <usize>load<u32>(p);
  if (count > 1024 || <usize>4 + count * 8 > n) return false;
  let off: usize = 4 + count * 8;
  for (let i: usize = 0; i < count; i++) {
    const kl = <usize>load<u32>(p + 4 + i * 8);
    const vl = <usize>load<u32>(p + 8 + i * 8);
    if (kl > n || vl > n || off + kl + vl + 2 > n) return false;
    const kp = p + off;
    if (load<u8>(kp + kl) != 0 || load<u8>(kp + kl + 1 + vl) != 0) return false;
    take(kp, kl, kp + kl + 1, vl, wl, ns, region);
    off += kl + vl + 2;
  }
  return off == n;
}

/** `k=v,k=v,...` (Istio 1.24 WorkloadMetadataObject::serializeAsString); false unless every
 * item has a key and an '='. */
function parseKeyValues(p: usize, n: usize, wl: Slice, ns: Slice, region: Slice): bool {
  if (n == 0) return false;
  let i: usize = 0;
  while (i < n) {
    const k = i;
    while (i < n && load<u8>(p + i) != 0x3d && load<u8>(p + i) != 0x2c) i++;
    if (i == n || load<u8>(p + i) != 0x3d || i == k) return false; // needs "key="
    const kl = i - k;
    const v = ++i;
    while (i < n && load<u8>(p + i) != 0x2c) i++;
    take(p + k, kl, p + v, i - v, wl, ns, region);
    i++; // past ','
  }
  return true;
}

/** Parses the whole peer value into `wl` / `ns` / `region` (empty when a field is absent);
 * false when it is neither form. A value that parses but carries neither workload nor
 * namespace (Istio 1.24's empty map) leaves the caller to read the fields one by one. */
export function parsePeer(p: usize, n: usize, wl: Slice, ns: Slice, region: Slice): bool {
  wl.clear(); ns.clear(); region.clear();
  if (parsePairs(p, n, wl, ns, region)) return true;
  wl.clear(); ns.clear(); region.clear();
  return parseKeyValues(p, n, wl, ns, region);
}

/** The `<namespace>` of a `.../ns/<namespace>/...` principal into `out` (istio/proxy
 * istio_stats.cc getNamespace); false when there is no non-empty one. */
export function sanNamespace(p: usize, n: usize, out: Slice): bool {
  for (let i: usize = 0; i + 4 <= n; i++) {
    if (load<u32>(p + i) != 0x2f736e2f) continue; // "/ns/"
    const b = i + 4;
    let e = b;
    while (e < n && load<u8>(p + e) != 0x2f) e++;
    out.set(p + b, e - b);
    return e > b;
  }
  return false;
}
