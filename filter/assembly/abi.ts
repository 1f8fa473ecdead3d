// The host surface the filter uses: the SDK's import declarations, WASI calls made directly
// (with static out-buffers, so reading the clock never allocates), and a scratch arena that
// backs `malloc` so values the host returns during a callback never touch the GC heap.
import {
  proxy_get_property,
  proxy_get_header_map_value,
  proxy_get_header_map_pairs,
} from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { malloc as sdkMalloc, free as sdkFree } from "@gcoredev/proxy-wasm-sdk-as/assembly/malloc";
import { Slice, SLICE_BYTES } from "./slice";

// Status codes (proxy-wasm ABI 0.2.1 spec, proxy_status_t).
export const WASM_OK: u32 = 0;

// Header map types (ABI 0.2.1).
export const MAP_REQUEST_HEADERS: i32 = 0;
export const MAP_RESPONSE_HEADERS: i32 = 2;
export const MAP_HTTP_CALL_RESPONSE_HEADERS: i32 = 6;
export const BUFFER_PLUGIN_CONFIGURATION: i32 = 7;

// Log levels (ABI 0.2.1).
export const LOG_INFO: i32 = 2;
export const LOG_WARN: i32 = 3;
export const LOG_ERROR: i32 = 4;

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "clock_time_get")
declare function wasi_clock_time_get(id: u32, precision: u64, out: usize): u16;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
declare function wasi_random_get(buf: usize, len: usize): u16;

const CLOCK_OUT = memory.data(8, 8);
const RANDOM_OUT = memory.data(8, 8);

/** Monotonic nanoseconds (WASI clock id 1; proxy_get_current_time_nanoseconds is a wall clock). */
// @ts-ignore: decorator
@inline
export function monoNow(): u64 {
  wasi_clock_time_get(1, 0, CLOCK_OUT);
  return load<u64>(CLOCK_OUT);
}

/** 64 random bits from WASI random_get (BoringSSL RAND_bytes in Envoy). */
export function random64(): u64 {
  wasi_random_get(RANDOM_OUT, 8);
  return load<u64>(RANDOM_OUT);
}

// ---- scratch arena behind malloc -------------------------------------------------------
// Every value the host hands back is malloc'ed by the host through our export. Values are
// consumed (or copied) inside the callback that asked for them, so a bump arena reset at the
// start of each callback serves them without any GC allocation. Larger values fall back to the
// SDK's pinned ArrayBuffers, released at the next reset.
const ARENA_SIZE: usize = 64 * 1024;
let arenaBase: usize = 0;
let arenaTop: usize = 0;
let pinned: Array<usize> | null = null;

export function malloc(size: i32): usize {
  if (arenaBase == 0) arenaBase = heap.alloc(ARENA_SIZE);
  const need = (<usize>max(size, 0) + 7) & ~<usize>7;
  if (arenaTop + need <= ARENA_SIZE) {
    const p = arenaBase + arenaTop;
    arenaTop += need;
    return p;
  }
  const p = sdkMalloc(size);
  let list = pinned;
  if (list === null) { list = new Array<usize>(); pinned = list; }
  list.push(p);
  return p;
}

/** Called at the start of every exported callback: everything from the last one is consumed. */
// @ts-ignore: decorator
@inline
export function resetScratch(): void {
  arenaTop = 0;
  const list = pinned;
  if (list !== null && list.length > 0) {
    for (let i = 0; i < list.length; i++) sdkFree(unchecked(list[i]));
    list.length = 0;
  }
}

// ---- reading values -----------------------------------------------------------------------
// Each get* fills the Slice its caller passes with the bytes the host returned (arena memory:
// valid until the next callback) and clears it when the value is absent.
const OUT_PTR = memory.data(8, 8);
const OUT_LEN = memory.data(8, 8);
const INT_VAL = changetype<Slice>(memory.data(SLICE_BYTES, 8));

// Text handed to the host (property paths, header names, log messages) is UTF-8 behind a u16
// length: static text is written `staticText("...")` (compile.mjs's filter/static-text.mjs turns it
// into those bytes at build time), text known only at run time is a Bytes' `text`.
// @ts-ignore: decorator
@inline export function textPtr(t: usize): usize { return t + 2; }
// @ts-ignore: decorator
@inline export function textLen(t: usize): usize { return <usize>load<u16>(t); }

/** A string as text (see above), built once (configured header names, label property paths);
 * `ptr`/`len` are its bytes. Strings here are configuration values of at most 1024 bytes. */
export class Bytes {
  buf: ArrayBuffer;
  text: usize;
  ptr: usize;
  len: usize;
  constructor(s: string) {
    const n = <usize>String.UTF8.byteLength(s);
    this.buf = new ArrayBuffer(<i32>n + 2);
    const t = changetype<usize>(this.buf);
    store<u16>(t, <u16>n);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, t + 2, false);
    this.text = t;
    this.ptr = t + 2;
    this.len = n;
  }
}

// @ts-ignore: decorator
@inline
function resetOut(): void {
  store<usize>(OUT_PTR, 0);
  store<usize>(OUT_LEN, 0);
}

function takeOut(r: u32, out: Slice): bool {
  if (r != WASM_OK) { out.clear(); return false; }
  out.set(load<usize>(OUT_PTR), load<usize>(OUT_LEN));
  return true;
}

/** `:status`, read from response headers and from HTTP-call response headers. */
export const H_STATUS = staticText(":status");

/** proxy_get_property of the path (text) into `out`; true when found. */
export function getProperty(path: usize, out: Slice): bool {
  resetOut();
  return takeOut(proxy_get_property(textPtr(path), textLen(path), OUT_PTR, OUT_LEN), out);
}

/** A property read as a little-endian integer (int/uint/bool are 8/8/1 bytes); -1 when absent. */
export function getIntProperty(path: usize): i64 {
  const v = INT_VAL;
  if (!getProperty(path, v)) return -1;
  if (v.len >= 8) return load<i64>(v.ptr);
  if (v.len == 1) return <i64>load<u8>(v.ptr);
  if (v.len == 4) return <i64>load<u32>(v.ptr);
  return -1;
}

/** proxy_get_header_map_value of the header named `key` (text) into `out`; true when it exists. */
export function getHeader(map: i32, key: usize, out: Slice): bool {
  resetOut();
  return takeOut(proxy_get_header_map_value(map, textPtr(key), textLen(key), OUT_PTR, OUT_LEN), out);
}

/** proxy_get_header_map_pairs: the whole map, serialized as pairs (ABI spec "Serialization"),
 * into `out`; false when unavailable. */
export function getHeaderPairs(map: i32, out: Slice): bool {
  resetOut();
  return takeOut(proxy_get_header_map_pairs(map, OUT_PTR, OUT_LEN), out);
}
