// proxy-wasm pairs serialization (proxy-wasm/spec abi-versions/v0.2.1 "Serialization";
// cpp-host include/proxy-wasm/pairs_util.h marshalPairs, src/exports.cc toPairs):
//   [count u32][key_len u32, value_len u32] * count  then  [key \0 value \0] * count
// all little-endian. Envoy also uses it for map / list property values (serializeValue).

export type Pair = [string, string];
export type BytePair = [Uint8Array, Uint8Array];

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Encodes pairs of raw byte strings. */
export function encodeBytePairs(pairs: readonly BytePair[]): Uint8Array {
  let size = 4;
  for (const [k, v] of pairs) size += 8 + k.length + v.length + 2;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, pairs.length, true);
  let h = 4;
  let b = 4 + 8 * pairs.length;
  for (const [k, v] of pairs) {
    dv.setUint32(h, k.length, true);
    dv.setUint32(h + 4, v.length, true);
    h += 8;
    out.set(k, b);
    b += k.length + 1; // NUL already 0
    out.set(v, b);
    b += v.length + 1;
  }
  return out;
}

export function encodePairs(pairs: readonly Pair[]): Uint8Array {
  return encodeBytePairs(pairs.map(([k, v]) => [enc.encode(k), enc.encode(v)]));
}

// include/proxy-wasm/limits.h
const PAIRS_MAX_BYTES = 1024 * 1024;
const PAIRS_MAX_COUNT = 1024;

/**
 * Decodes pairs like cpp-host's PairsUtil::toPairs (src/pairs_util.cc): a buffer that is
 * malformed in any way (too short for its header or data, a key or value not NUL-terminated,
 * bytes left over, more than 1024 pairs or 1 MiB) yields no pairs at all, not the pairs read so
 * far — so an http call with such headers lacks :path and fails, as in Envoy.
 */
export function decodePairs(buf: Uint8Array): Pair[] {
  if (buf.length < 4 || buf.length > PAIRS_MAX_BYTES) return [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = dv.getUint32(0, true);
  if (n > PAIRS_MAX_COUNT || 4 + n * 8 > buf.length) return [];
  const out: Pair[] = [];
  let b = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const kl = dv.getUint32(4 + i * 8, true);
    const vl = dv.getUint32(8 + i * 8, true);
    if (b + kl + 1 > buf.length || buf[b + kl] !== 0) return [];
    const k = dec.decode(buf.subarray(b, b + kl));
    b += kl + 1;
    if (b + vl + 1 > buf.length || buf[b + vl] !== 0) return [];
    const v = dec.decode(buf.subarray(b, b + vl));
    b += vl + 1;
    out.push([k, v]);
  }
  return b === buf.length ? out : [];
}
