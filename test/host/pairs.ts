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

/**
 * Decodes pairs. Like cpp-host's toPairs, a buffer too short for its declared header yields
 * no pairs rather than an error.
 */
export function decodePairs(buf: Uint8Array): Pair[] {
  if (buf.length < 4) return [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = dv.getUint32(0, true);
  if (4 + n * 8 > buf.length) return [];
  const out: Pair[] = [];
  let b = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const kl = dv.getUint32(4 + i * 8, true);
    const vl = dv.getUint32(8 + i * 8, true);
    if (b + kl + 1 + vl + 1 > buf.length) return out;
    const k = dec.decode(buf.subarray(b, b + kl));
    b += kl + 1;
    const v = dec.decode(buf.subarray(b, b + vl));
    b += vl + 1;
    out.push([k, v]);
  }
  return out;
}
