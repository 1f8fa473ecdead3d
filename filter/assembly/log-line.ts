// The filter's log lines, built in place as UTF-8 from static text (`staticText("...")`, see abi.ts),
// strings and numbers, and handed to proxy_log in one piece (Envoy's `wasm` logger; WASI stdout
// would print whatever the level). Messages live once as UTF-8 bytes and no line concatenates
// strings. Lines are rare (configuration, delivery failures), never per request; the buffer
// grows once to the longest line and is reused.
import { proxy_log } from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { textLen, textPtr } from "./abi";

let buf: usize = 0;
let cap: usize = 0;
let len: usize = 0;

/** `n` more bytes at the end of the line; their address. */
function room(n: usize): usize {
  const need = len + n;
  if (need > cap) {
    let c = cap == 0 ? <usize>256 : cap;
    while (c < need) c <<= 1;
    buf = buf == 0 ? heap.alloc(c) : heap.realloc(buf, c);
    cap = c;
  }
  const p = buf + len;
  len = need;
  return p;
}

function byte(c: i32): void { store<u8>(room(1), <u8>c); }

/** `units` UTF-16 code units at `p`, as UTF-8. */
function utf16(p: usize, units: i32): void {
  const most = <usize>units * 3;
  const at = room(most);
  len -= most - String.UTF8.encodeUnsafe(p, units, at, false);
}

/** Appends static text. */
export function text(t: usize): void { memory.copy(room(textLen(t)), textPtr(t), textLen(t)); }

/** Appends a string (an error code of errors.ts, a configured value). */
export function str(s: string): void { utf16(changetype<usize>(s), s.length); }

/** Appends a decimal integer. */
export function num(v: i64): void {
  if (v < 0) { byte(0x2d); v = -v; }
  let u = <u64>v;
  let n: usize = 1;
  for (let x = u; x >= 10; x /= 10) n++;
  const p = room(n);
  for (let i = n; i > 0; i--) { store<u8>(p + i - 1, <u8>(0x30 + <u32>(u % 10))); u /= 10; }
}

/** Appends `s` as a JSON string literal (the effective configuration in the configured line). */
export function quoted(s: string): void {
  byte(0x22);
  const n = s.length;
  let from = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? <i32>s.charCodeAt(i) : -1;
    if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
    utf16(changetype<usize>(s) + (<usize>from << 1), i - from);
    from = i + 1;
    if (c < 0) break;
    byte(0x5c);
    if (c >= 0x20) { byte(c); continue; }
    const d = c & 0xf;
    byte(0x75); byte(0x30); byte(0x30); byte(0x30 + (c >> 4)); byte(d < 10 ? 0x30 + d : 0x57 + d);
  }
  byte(0x22);
}

/** Logs the line at `level` (ABI log level) and starts the next one. */
export function emit(level: i32): void {
  proxy_log(<usize>level, buf, len);
  len = 0;
}
