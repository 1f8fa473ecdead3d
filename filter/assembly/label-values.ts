// Label values from raw bytes: user tier normalisation, Envoy response-flag short codes, the
// Istio cluster name, the :authority host, the status code. A value that is built (not a range
// of the input) is written into one static buffer and handed back through the caller's Slice,
// valid until the next call here; callers intern it at once. Nothing here allocates.
import { Slice } from "./slice";
import { asciiLowerByte, isOws } from "./lex";

const BUILT_CAP: usize = 512;
const BUILT: usize = memory.data(<i32>BUILT_CAP, 8);

export const TIER_MAX_BYTES: usize = 64;

// Outcome of normaliseTier besides "look up the normalised value in the allow-list".
export const TIER_LOOKUP: i32 = 0;
export const TIER_UNKNOWN: i32 = 1;
export const TIER_OTHER: i32 = 2;

/** Trims OWS and lower-cases into `out` (TIER_LOOKUP). Empty -> TIER_UNKNOWN; over 64 bytes or
 * non-ASCII -> TIER_OTHER. */
export function normaliseTier(p: usize, n: usize, out: Slice): i32 {
  let s: usize = 0;
  let e = n;
  while (s < e && isOws(load<u8>(p + s))) s++;
  while (e > s && isOws(load<u8>(p + e - 1))) e--;
  const len = e - s;
  if (len == 0) return TIER_UNKNOWN;
  if (len > TIER_MAX_BYTES) return TIER_OTHER;
  for (let i: usize = 0; i < len; i++) {
    const c = <u32>load<u8>(p + s + i);
    if (c >= 0x80) return TIER_OTHER;
    store<u8>(BUILT + i, <u8>asciiLowerByte(c));
  }
  out.set(BUILT, len);
  return TIER_LOOKUP;
}

// Envoy's response-flag short codes by bit of `response.flags` (the legacy bitmask, bit =
// CoreResponseFlag value), in envoyproxy/envoy source/common/stream_info/utility.h
// CORE_RESPONSE_FLAGS order (= bit order; DR bit 28, UDO bit 29 in envoy/stream_info/
// stream_info.h). toShortString joins with ',' and prints '-' for none; current Envoy joins in
// the order the flags were set (utility.cc iterates responseFlags()), which a bitmask cannot
// tell, so several flags are joined in bit order (older Envoy's order).
// One string, split once: a string literal per code would cost ~20 B of static data each.
const FLAG_CODES = "LH UH UT LR UR UF UC UO NR DI FI RL UAEX RLSE DC URX SI IH DPE UMSDR RFCF NFCF DT UPE NC OM DF DO DR UDO";
const N_FLAGS = 30;
// Codes as bytes, packed: offset/len per flag (built once).
const FLAG_BYTES: usize = memory.data(128, 8);
const FLAG_OFF: usize = memory.data(64, 8);
let flagsReady = false;

function initFlags(): void {
  let off: usize = 0;
  let start: usize = 0;
  let i = 0;
  for (let k = 0; k <= FLAG_CODES.length; k++) {
    const c = k < FLAG_CODES.length ? FLAG_CODES.charCodeAt(k) : 0x20;
    if (c != 0x20) { store<u8>(FLAG_BYTES + off, <u8>c); off++; continue; }
    store<u8>(FLAG_OFF + <usize>(i * 2), <u8>start);
    store<u8>(FLAG_OFF + <usize>(i * 2) + 1, <u8>(off - start));
    start = off;
    i++;
  }
  flagsReady = true;
}

/** Short codes of the bitmask into `out` ("-" when none or only unknown bits). */
export function decodeFlags(flags: u64, out: Slice): void {
  if (!flagsReady) initFlags();
  let len: usize = 0;
  for (let i = 0; i < N_FLAGS; i++) {
    if ((flags & (<u64>1 << <u64>i)) == 0) continue;
    if (len > 0) { store<u8>(BUILT + len, 0x2c); len++; }
    const off = <usize>load<u8>(FLAG_OFF + <usize>(i * 2));
    const n = <usize>load<u8>(FLAG_OFF + <usize>(i * 2) + 1);
    memory.copy(BUILT + len, FLAG_BYTES + off, n);
    len += n;
  }
  if (len == 0) { store<u8>(BUILT, 0x2d); len = 1; }
  out.set(BUILT, len);
}

export const DIR_UNKNOWN: i32 = 0;
export const DIR_INBOUND: i32 = 1;
export const DIR_OUTBOUND: i32 = 2;

/** Direction from an Istio cluster name's prefix (istio/istio pilot/pkg/model/service.go
 * BuildSubsetKey); for outbound also the FQDN (4th field) into `fqdn` (empty otherwise). */
export function parseCluster(p: usize, n: usize, fqdn: Slice): i32 {
  fqdn.clear();
  if (n >= 8 && load<u64>(p) == 0x7c646e756f626e69) return DIR_INBOUND; // "inbound|"
  if (n >= 9 && load<u64>(p) == 0x646e756f6274756f && load<u8>(p + 8) == 0x7c) { // "outbound|"
    let bars = 0;
    let i: usize = 0;
    while (i < n && bars < 3) { if (load<u8>(p + i) == 0x7c) bars++; i++; }
    if (bars == 3) fqdn.set(p + i, n - i);
    return DIR_OUTBOUND;
  }
  return DIR_UNKNOWN;
}

const HOST_MAX: usize = 253;
const LABEL_MAX: usize = 63;

// Outcome of authorityHost.
export const HOST_EMPTY: i32 = 0;
export const HOST_INVALID: i32 = 1;
export const HOST_OK: i32 = 2;

/** A lower-cased host is a label value only if it is a DNS name (RFC 1123 labels: 1-63 of
 * [a-z0-9-], no '-' at either end, at most 253 bytes) or a bracketed IPv6 literal: the host is
 * client-controlled (`Host: <script>` must not become a series). IPv4 is a DNS-shaped name. */
function validHost(p: usize, n: usize): bool {
  if (n == 0 || n > HOST_MAX) return false;
  if (load<u8>(p) == 0x5b) { // [v6]
    if (n < 3 || load<u8>(p + n - 1) != 0x5d) return false;
    for (let i: usize = 1; i < n - 1; i++) {
      const c = <u32>load<u8>(p + i);
      if (!((c >= 0x30 && c <= 0x3a) || (c >= 0x61 && c <= 0x66) || c == 0x2e)) return false; // 0-9 : a-f .
    }
    return true;
  }
  let labelStart: usize = 0;
  for (let i: usize = 0; i <= n; i++) {
    const c = i < n ? <u32>load<u8>(p + i) : 0x2e;
    if (c == 0x2e) { // '.' ends a label
      const len = i - labelStart;
      if (len == 0 || len > LABEL_MAX) return false;
      if (load<u8>(p + labelStart) == 0x2d || load<u8>(p + i - 1) == 0x2d) return false;
      labelStart = i + 1;
    } else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d)) return false;
  }
  return true;
}

/** `:authority` (or a host) without port, lower-cased, into `out`: HOST_OK, HOST_EMPTY, or
 * HOST_INVALID when it is no DNS name / IPv6 literal (`out` then empty). */
export function authorityHost(p: usize, n: usize, out: Slice): i32 {
  out.clear();
  let end = n;
  if (n > 0 && load<u8>(p) == 0x5b) { // [v6]:port
    let i: usize = 0;
    while (i < n && load<u8>(p + i) != 0x5d) i++;
    end = i < n ? i + 1 : n;
  } else {
    let colons = 0;
    let last: usize = 0;
    for (let i: usize = 0; i < n; i++) if (load<u8>(p + i) == 0x3a) { colons++; last = i; }
    if (colons == 1) end = last;
  }
  if (end == 0) return HOST_EMPTY;
  if (end > HOST_MAX) return HOST_INVALID;
  for (let i: usize = 0; i < end; i++) store<u8>(BUILT + i, <u8>asciiLowerByte(load<u8>(p + i)));
  if (!validHost(BUILT, end)) return HOST_INVALID;
  out.set(BUILT, end);
  return HOST_OK;
}

const SVC_SUFFIX = ".svc.cluster.local";

/** A dotless host in `host` (authorityHost's result) becomes `<host>.<ns>.svc.cluster.local`,
 * the FQDN a Kubernetes short name resolves to in the proxy's namespace; other hosts stay. */
export function expandShortName(host: Slice, ns: usize, nsLen: usize): void {
  const n = host.len;
  if (host.ptr != BUILT || n == 0 || load<u8>(BUILT) == 0x5b) return;
  for (let i: usize = 0; i < n; i++) if (load<u8>(BUILT + i) == 0x2e) return;
  const total = n + 1 + nsLen + <usize>SVC_SUFFIX.length;
  if (total > HOST_MAX || nsLen == 0) return;
  store<u8>(BUILT + n, 0x2e);
  memory.copy(BUILT + n + 1, ns, nsLen);
  let o = n + 1 + nsLen;
  for (let k = 0; k < SVC_SUFFIX.length; k++) store<u8>(BUILT + o + <usize>k, <u8>SVC_SUFFIX.charCodeAt(k));
  o += <usize>SVC_SUFFIX.length;
  host.set(BUILT, o);
}

/** Decimal status code into `out`. */
export function codeString(code: u32, out: Slice): void {
  let len: usize = 1;
  let v = code;
  while (v >= 10) { v /= 10; len++; }
  v = code;
  for (let i = len; i > 0; i--) { store<u8>(BUILT + i - 1, <u8>(0x30 + v % 10)); v /= 10; }
  out.set(BUILT, len);
}
