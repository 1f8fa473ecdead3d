// The downstream peer Istio's metadata exchange leaves in filter state (`downstream_peer`,
// istio/proxy source/extensions/filters/http/peer_metadata/filter.cc), read whole in one host call. Envoy returns a CelState of protobuf type read
// as a whole as its serialized bytes (envoy source/extensions/filters/common/expr/cel_state.cc
// exprValue: Protobuf + last -> bytes), here a google.protobuf.Struct (istio/proxy
// peer_metadata filter.cc setFilterState). A host that serializes the value as a CEL map gives
// proxy-wasm pairs instead; both are accepted. Also the namespace of a peer's SPIFFE identity.
// Results are ranges of the input, handed back through the caller's Slices.
import { Slice } from "./slice";

// Cursor of the protobuf reader (parseStruct and its helpers).
let pos: usize = 0;
let bad = false;

function varint(end: usize): u64 {
  let r: u64 = 0;
  let shift: u64 = 0;
  while (true) {
    if (pos >= end || shift > 63) { bad = true; return 0; }
    const b = <u64>load<u8>(pos++);
    r |= (b & 0x7f) << shift;
    if ((b & 0x80) == 0) return r;
    shift += 7;
  }
}

/** Skips one field of wire type `wt`; false on garbage. */
function skip(wt: u32, end: usize): bool {
  if (wt == 0) { varint(end); return !bad; }
  if (wt == 1) { pos += 8; return pos <= end; }
  if (wt == 5) { pos += 4; return pos <= end; }
  if (wt == 2) {
    const n = varint(end);
    if (bad || n > <u64>(end - pos)) return false;
    pos += <usize>n;
    return true;
  }
  return false;
}

// @ts-ignore: decorator
@inline
function isKey(p: usize, n: usize, k: string): bool {
  if (n != <usize>k.length) return false;
  for (let i: usize = 0; i < n; i++) if (<i32>load<u8>(p + i) != k.charCodeAt(<i32>i)) return false;
  return true;
}

function take(kp: usize, kl: usize, vp: usize, vl: usize, wl: Slice, ns: Slice): void {
  if (isKey(kp, kl, "workload")) wl.set(vp, vl);
  else if (isKey(kp, kl, "namespace")) ns.set(vp, vl);
}

/** Struct { map<string, Value> fields = 1 }; Value.string_value = 3. Strict: any oddity fails. */
function parseStruct(p: usize, n: usize, wl: Slice, ns: Slice): bool {
  pos = p;
  bad = false;
  const end = p + n;
  if (n == 0) return false;
  while (pos < end) {
    if (varint(end) != 0x0a || bad) return false; // fields, length-delimited
    const len = varint(end);
    if (bad || len == 0 || len > <u64>(end - pos)) return false;
    const eEnd = pos + <usize>len;
    let kp: usize = 0, kl: usize = 0, vp: usize = 0, vl: usize = 0;
    let haveString = false;
    while (pos < eEnd) {
      const tag = varint(eEnd);
      if (bad) return false;
      const field = <u32>(tag >> 3);
      const wt = <u32>(tag & 7);
      if (field == 1 && wt == 2) {
        const l = varint(eEnd);
        if (bad || l > <u64>(eEnd - pos)) return false;
        kp = pos; kl = <usize>l; pos += kl;
      } else if (field == 2 && wt == 2) {
        const l = varint(eEnd);
        if (bad || l > <u64>(eEnd - pos)) return false;
        const vEnd = pos + <usize>l;
        while (pos < vEnd) {
          const t = varint(vEnd);
          if (bad) return false;
          if (t == 0x1a) {
            const sl = varint(vEnd);
            if (bad || sl > <u64>(vEnd - pos)) return false;
            vp = pos; vl = <usize>sl; pos += vl; haveString = true;
          } else if (!skip(<u32>(t & 7), vEnd)) return false;
        }
      } else if (!skip(wt, eEnd)) return false;
    }
    if (pos != eEnd) return false;
    if (haveString) take(kp, kl, vp, vl, wl, ns);
  }
  return pos == end;
}

/** proxy-wasm pairs: u32 count, (u32 klen, u32 vlen) each, then NUL-terminated keys/values. */
function parsePairs(p: usize, n: usize, wl: Slice, ns: Slice): bool {
  if (n < 4) return false;
  const count = <usize>load<u32>(p);
  if (count > 1024 || <usize>4 + count * 8 > n) return false;
  let off: usize = 4 + count * 8;
  for (let i: usize = 0; i < count; i++) {
    const kl = <usize>load<u32>(p + 4 + i * 8);
    const vl = <usize>load<u32>(p + 8 + i * 8);
    if (kl > n || vl > n || off + kl + vl + 2 > n) return false;
    const kp = p + off;
    take(kp, kl, kp + kl + 1, vl, wl, ns);
    off += kl + vl + 2;
  }
  return true;
}

/** Parses the peer value into `wl` / `ns` (empty when the field is absent); false when it is
 * neither form (the caller reads the fields one by one). */
export function parsePeer(p: usize, n: usize, wl: Slice, ns: Slice): bool {
  wl.clear(); ns.clear();
  if (parseStruct(p, n, wl, ns)) return true;
  wl.clear(); ns.clear();
  return parsePairs(p, n, wl, ns);
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
