// Single-pass decode + validation of a v2 batch as the filter writes it: the MessagePack bytes
// are read straight into a flat batch (flat-batch.ts: typed arrays, no object per series or
// timing), with no intermediate decoded object and no second walk over one. It covers the
// filter's shape (keys in the filter's order, integers, ASCII strings, bin trace ids, timings
// packed in a bin or as arrays, whichever the general path accepts) and checks every rule
// validate.ts / validate-v2.ts check, all before the caller merges anything. Anything else —
// another layout, a float, a non-ASCII string, an unknown key, any rule broken — makes it give
// up (null), and the caller runs the general path (decode.ts + validate.ts), which accepts what
// it accepts and words every error. So the fast path never decides an error, and accepts only
// batches the general path accepts, with an equal result (test/read-v2.test.ts).
import { MAX_INDEX_0, MAX_SCALE, MIN_INDEX_0, MIN_SCALE, UPPER_MS, lowestUpper } from "./exp-buckets.ts";
import { COUNTER_KEYS, LABEL_NAMES } from "./types.ts";
import type { CounterKey, WireLimits } from "./types.ts";
import { FlatBatch, NL, NT } from "./flat-batch.ts";
import { validateBatch } from "./validate.ts";

const ALL_LABELS = (1 << NL) - 1;
const ALL_TIMINGS = (1 << NT) - 1;
/** Keys of a v2 batch in the order the filter writes them (filter/assembly/encode.ts). */
const KEYS = ["v", "proxy", "vm", "seq", "window", "labels", "strings", "series", "counters"] as const;
const PROXY_KEYS = ["id", "workload", "namespace", "region"] as const;

/** Thrown (never escapes this module) when the fast path gives up; made once, so giving up costs no stack trace. */
const GIVE_UP = new Error("read-v2: not the filter's shape, or a rule broken");

let buf: Buffer = Buffer.alloc(0);
let pos = 0;
/** The one flat batch every read fills (flat-batch.ts: valid until the next read). */
const out = new FlatBatch();

function giveUp(): never {
  throw GIVE_UP;
}

/** A non-negative integer ≤ 2^53 - 1 (positive fixint, uint 8/16/32/64). */
function uint(): number {
  const b = buf[pos++]!;
  if (b < 0x80) return b;
  switch (b) {
    case 0xcc: pos += 1; return buf.readUInt8(pos - 1);
    case 0xcd: pos += 2; return buf.readUInt16BE(pos - 2);
    case 0xce: pos += 4; return buf.readUInt32BE(pos - 4);
    case 0xcf: {
      const hi = buf.readUInt32BE(pos), lo = buf.readUInt32BE(pos + 4);
      pos += 8;
      if (hi > 0x1fffff) giveUp(); // beyond Number.MAX_SAFE_INTEGER
      return hi * 2 ** 32 + lo;
    }
  }
  return giveUp();
}

/** A safe integer of either sign (adds negative fixint and int 8/16/32). */
function int(): number {
  const b = buf[pos]!;
  if (b >= 0xe0) { pos++; return b - 0x100; }
  switch (b) {
    case 0xd0: pos += 2; return buf.readInt8(pos - 1);
    case 0xd1: pos += 3; return buf.readInt16BE(pos - 2);
    case 0xd2: pos += 5; return buf.readInt32BE(pos - 4);
  }
  return uint();
}

/** A container's size: `fix` (0x90 array, 0x80 map) in the high nibble holds it; else the 16- or 32-bit form (`code16`, code16 + 1). */
function header(fix: number, code16: number): number {
  const b = buf[pos++]!;
  if ((b & 0xf0) === fix) return b & 0x0f;
  if (b === code16) { pos += 2; return buf.readUInt16BE(pos - 2); }
  if (b === code16 + 1) { pos += 4; return buf.readUInt32BE(pos - 4); }
  return giveUp();
}
const arrayHeader = (): number => header(0x90, 0xdc);
const mapHeader = (): number => header(0x80, 0xde);

/** An ASCII string without NUL of at most maxLen characters (what a label may be): its end; `pos` is left at its start. */
function labelBytes(maxLen: number): number {
  const b = buf[pos++]!;
  let len: number;
  if ((b & 0xe0) === 0xa0) len = b & 0x1f;
  else if (b === 0xd9) len = buf.readUInt8(pos++);
  else if (b === 0xda) { len = buf.readUInt16BE(pos); pos += 2; }
  else if (b === 0xdb) { len = buf.readUInt32BE(pos); pos += 4; }
  else return giveUp();
  const end = pos + len;
  if (len > maxLen || end > buf.length) giveUp();
  for (let i = pos; i < end; i++) {
    const c = buf[i]!;
    if (c === 0 || c > 0x7f) giveUp();
  }
  return end;
}

/** A label (labelBytes()) as a string. */
function label(maxLen: number): string {
  const end = labelBytes(maxLen);
  const s = buf.toString("latin1", pos, end);
  pos = end;
  return s;
}

/** Matches the next value against an ASCII string, without making one. */
function key(k: string): void {
  const len = k.length;
  if (buf[pos] !== (0xa0 | len) || len > 31) giveUp();
  for (let i = 0; i < len; i++) if (buf[pos + 1 + i] !== k.charCodeAt(i)) giveUp();
  pos += 1 + len;
}

/**
 * Checks the sum of a timing against its buckets: each value in bucket i lies in
 * (upper(i-1), upper(i)] ms, so the sum lies between the bounds' weighted sums (with a
 * tolerance for the float bounds). Reads the timing's buckets from the pool.
 */
function sumFits(sumUs: number, scale: number, b0: number, b1: number): boolean {
  const idx = out.bIdx, cnt = out.bCnt;
  // upperMs(i, scale) read from its table (the range was checked: every i is in it).
  const up = UPPER_MS[scale]!, base = -lowestUpper(scale);
  let lo = 0, hi = 0;
  for (let b = b0; b < b1; b++) {
    const i = idx[b]! + base, c = cnt[b]!;
    lo += c * up[i - 1]! * 1000;
    hi += c * up[i]! * 1000;
  }
  return sumUs >= Math.floor(lo * (1 - 1e-9)) && sumUs <= Math.ceil(hi * (1 + 1e-9));
}

/** Where timing k's bucket range must lie at `scale` (validate-v2's rule). */
function rangeOk(offset: number, len: number, scale: number): boolean {
  const per = 1 << scale; // scale is 0..MAX_SCALE here
  return len === 0 || (offset >= MIN_INDEX_0 * per && offset + len - 1 <= MAX_INDEX_0 * per);
}

/** Timing k of the first draft's arrays layout: [n, sum, scale, zero, offset, [counts]]. */
function timing(k: number, count: number, maxBuckets: number): void {
  if (arrayHeader() !== 6) giveUp();
  const n = uint();
  if (n > count) giveUp();
  const sumUs = uint();
  const scale = int();
  if (scale < MIN_SCALE || scale > MAX_SCALE) giveUp();
  const zero = uint();
  const offset = int();
  const len = arrayHeader();
  if (len > maxBuckets || !rangeOk(offset, len, scale)) giveUp();
  out.reserveBuckets(len);
  const idx = out.bIdx, cnt = out.bCnt;
  const b0 = out.nb;
  let nb = b0;
  let total = zero;
  for (let j = 0; j < len; j++) {
    const c = uint();
    if (c === 0) {
      if (j === 0 || j === len - 1) giveUp(); // the range ends on occupied buckets
      continue;
    }
    total += c;
    idx[nb] = offset + j;
    cnt[nb++] = c;
  }
  out.nb = nb;
  if (!Number.isSafeInteger(total) || total !== n) giveUp();
  if (!sumFits(sumUs, scale, b0, nb)) giveUp();
  out.tn[k] = n; out.tsum[k] = sumUs; out.tzero[k] = zero; out.tscale[k] = scale;
  out.toff[k] = offset; out.tlen[k] = len; out.tb0[k] = b0; out.tb1[k] = nb;
}

/** Unsigned LEB128 of at most 8 bytes, a safe integer, ending before `end`. */
function varint(end: number): number {
  if (pos >= end) giveUp();
  const first = buf[pos++]!;
  if (first < 0x80) return first;
  let v = first & 0x7f;
  let mul = 0x80;
  for (let i = 1; i < 8; i++) {
    if (pos >= end) giveUp();
    const x = buf[pos++]!;
    v += (x & 0x7f) * mul;
    if (x < 0x80) {
      if (!Number.isSafeInteger(v)) giveUp();
      return v;
    }
    mul *= 0x80;
  }
  return giveUp();
}

/** Timing k from a packed bin ending at `end` (docs/wire-format.md "v2 timings"). */
function packedTiming(k: number, end: number, count: number, maxBuckets: number): void {
  const sumUs = varint(end);
  if (pos >= end) giveUp();
  const scale = buf[pos++]!;
  if (scale > MAX_SCALE) giveUp();
  const zero = varint(end);
  const zz = varint(end);
  const offset = zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
  const len = varint(end);
  if (len > maxBuckets || !rangeOk(offset, len, scale)) giveUp();
  out.reserveBuckets(len);
  const idx = out.bIdx, cnt = out.bCnt;
  const b0 = out.nb;
  let nb = b0;
  let n = zero;
  const b = buf;
  for (let j = 0; j < len;) {
    if (pos >= end) giveUp();
    const t = b[pos++]!;
    let gap = t >> 4;
    let c = (t & 15) + 1;
    if (gap === 15) gap += varint(end);
    if (c === 16) c += varint(end);
    if (gap > 0 && j === 0) giveUp();
    j += gap;
    if (j >= len) giveUp();
    idx[nb] = offset + j;
    cnt[nb++] = c;
    n += c;
    j++;
  }
  out.nb = nb;
  if (n === 0 || !Number.isSafeInteger(n) || n > count) giveUp();
  if (!sumFits(sumUs, scale, b0, nb)) giveUp();
  out.tn[k] = n; out.tsum[k] = sumUs; out.tzero[k] = zero; out.tscale[k] = scale;
  out.toff[k] = len > 0 ? offset : 0; out.tlen[k] = len; out.tb0[k] = b0; out.tb1[k] = nb;
}

/** Series s's timings packed in one bin: a presence mask, then each present timing. */
function packedTimings(s: number, count: number, maxBuckets: number): void {
  const b = buf[pos++];
  let len: number;
  if (b === 0xc4) len = buf.readUInt8(pos++);
  else if (b === 0xc5) { len = buf.readUInt16BE(pos); pos += 2; }
  else if (b === 0xc6) { len = buf.readUInt32BE(pos); pos += 4; }
  else return giveUp();
  const end = pos + len;
  if (end > buf.length || len === 0) giveUp();
  const mask = buf[pos++]!;
  if (mask > ALL_TIMINGS) giveUp();
  out.tmask[s] = mask;
  for (let t = 0; t < NT; t++) if (mask & (1 << t)) packedTiming(s * NT + t, end, count, maxBuckets);
  if (pos !== end) giveUp();
}

/** Series s's exemplar: [trace id bin 8|16 (not all zero), value_us, time_ms]; it needs a request timing with observations. */
function exemplar(s: number): void {
  if (arrayHeader() !== 3 || buf[pos] !== 0xc4) giveUp();
  const len = buf.readUInt8(pos + 1);
  if (len !== 8 && len !== 16) giveUp();
  const start = pos + 2, end = start + len;
  if (end > buf.length) giveUp();
  let any = 0;
  for (let i = start; i < end; i++) any |= buf[i]!;
  if (any === 0) giveUp();
  const traceId = buf.toString("hex", start, end);
  pos = end;
  const valueUs = uint();
  if (!(out.tmask[s]! & 1) || out.tn[s * NT] === 0) giveUp();
  out.exTrace[s] = traceId;
  out.exValue[s] = valueUs;
  out.exTime[s] = uint();
}

/**
 * Whether the general path accepts a series' timings in this layout (v2's bin, or the arrays of
 * its first draft), probed once on a one-series batch: the fast path reads only a layout the
 * general path accepts.
 */
function generalAccepts(timings: unknown): boolean {
  const limits: WireLimits = { maxSeries: 1, maxStrings: 1, maxBounds: 1, maxLabelLength: 16, maxTimingBuckets: 1 };
  try {
    validateBatch({
      v: 2, proxy: { id: "p", workload: "w", namespace: "n", region: "r" }, vm: "0000000000000001", seq: 1, window: [0, 1],
      labels: [...LABEL_NAMES], strings: ["x"], series: [[[ALL_LABELS, ...LABEL_NAMES.map(() => 0)], 1, timings]], counters: {},
    }, limits);
    return true;
  } catch {
    return false;
  }
}
/** One request of 1 ms (bucket 0 at scale 0), in each layout. */
export const ARRAY_TIMINGS = generalAccepts([1, [1, 1000, 0, 0, 0, [1]]]);
export const BIN_TIMINGS = generalAccepts(Uint8Array.of(1, 0xe8, 0x07, 0, 0, 0, 1, 0x00));

const popcount = (m: number): number => { let c = 0; for (; m; m &= m - 1) c++; return c; };

function series(nStrings: number, limits: WireLimits): void {
  const ns = arrayHeader();
  if (ns > limits.maxSeries) giveUp();
  out.reset(ns);
  const lab = out.lab;
  for (let s = 0; s < ns; s++) {
    const parts = arrayHeader();
    if (parts !== 3 && parts !== 4) giveUp();
    const nl = arrayHeader();
    const mask = uint();
    if (mask > ALL_LABELS || (s === 0 && mask !== ALL_LABELS) || nl !== 1 + popcount(mask)) giveUp();
    // Labels are changes against the previous series: start from its tuple.
    const at = s * NL;
    for (let i = 0; i < NL; i++) {
      if (mask & (1 << i)) {
        const idx = uint();
        if (idx >= nStrings) giveUp();
        lab[at + i] = idx;
      } else lab[at + i] = lab[at - NL + i]!;
    }
    const count = uint();
    out.count[s] = count;
    if (buf[pos]! >= 0xc4 && buf[pos]! <= 0xc6) {
      if (!BIN_TIMINGS) giveUp();
      packedTimings(s, count, limits.maxTimingBuckets);
    } else {
      if (!ARRAY_TIMINGS) giveUp();
      // Timings as arrays [mask, [n, sum, scale, zero, offset, [counts]]...].
      const nt = arrayHeader();
      const tmask = uint();
      if (tmask > ALL_TIMINGS || nt !== 1 + popcount(tmask)) giveUp();
      out.tmask[s] = tmask;
      for (let t = 0; t < NT; t++) if (tmask & (1 << t)) timing(s * NT + t, count, limits.maxTimingBuckets);
    }
    out.exTrace[s] = null;
    if (parts === 4) exemplar(s);
  }
}

function batch(limits: WireLimits): void {
  if (mapHeader() !== KEYS.length) giveUp();
  key("v");
  if (buf[pos++] !== 2) giveUp();
  const maxL = limits.maxLabelLength;
  key("proxy");
  if (mapHeader() !== PROXY_KEYS.length) giveUp();
  key("id"); const id = label(maxL);
  key("workload"); const workload = label(Math.min(maxL, 253));
  key("namespace"); const namespace = label(Math.min(maxL, 63));
  key("region"); const region = label(maxL);
  key("vm");
  const vm = label(16);
  if (!/^[0-9a-f]{16}$/.test(vm)) giveUp();
  key("seq");
  const seq = uint();
  if (seq < 1) giveUp();
  key("window");
  if (arrayHeader() !== 2) giveUp();
  const w0 = uint(), w1 = uint();
  if (w0 > w1) giveUp();
  key("labels");
  if (arrayHeader() !== NL) giveUp();
  for (const name of LABEL_NAMES) key(name);
  key("strings");
  const nStrings = arrayHeader();
  if (nStrings > limits.maxStrings) giveUp();
  out.reserveStrings(nStrings);
  const starts = out.strStart, ends = out.strEnd;
  for (let i = 0; i < nStrings; i++) {
    const end = labelBytes(maxL);
    starts[i] = pos;
    ends[i] = pos = end;
  }
  key("series");
  series(nStrings, limits);
  key("counters");
  const nc = mapHeader();
  if (nc !== COUNTER_KEYS.length) giveUp();
  const counters = {} as Record<CounterKey, number>;
  for (const k of COUNTER_KEYS) { key(k); counters[k] = uint(); }
  out.proxy = { id, workload, namespace, region };
  out.vm = vm;
  out.seq = seq;
  out.window = [w0, w1];
  out.body = buf;
  out.counters = counters;
}

/**
 * The batch in `body` when it is a v2 batch of the filter's shape that passes every rule (the
 * one reused FlatBatch: merge it before the next read); null: use the general path.
 */
export function readV2(body: Uint8Array, limits: WireLimits): FlatBatch | null {
  buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  pos = 0;
  try {
    batch(limits);
    return pos === buf.length ? out : null;
  } catch (e) {
    // Reads past the end (a truncated body) throw RangeError or read undefined; either way: give up.
    if (e === GIVE_UP || e instanceof RangeError) return null;
    throw e;
  } finally {
    buf = EMPTY;
  }
}

const EMPTY = Buffer.alloc(0);
