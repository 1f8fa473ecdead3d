// A compact, strict JSON parser for the plugin configuration (RFC 8259). Configure is not the
// hot path, so it builds a small tree; what matters is that garbage of any shape yields an
// error with a position, never a trap (bounds-checked reads, bounded nesting).

import { scalePow10 } from "./lex";

export const J_NULL: u8 = 0;
export const J_BOOL: u8 = 1;
export const J_NUM: u8 = 2;
export const J_STR: u8 = 3;
export const J_ARR: u8 = 4;
export const J_OBJ: u8 = 5;

const MAX_DEPTH = 32;

export class JsonValue {
  kind: u8 = J_NULL;
  b: bool = false;
  n: f64 = 0;
  s: string = "";
  items: JsonValue[] = [];
  keys: string[] = [];

  get(key: string): JsonValue | null {
    // Last occurrence wins, as in JSON.parse.
    for (let i = this.keys.length - 1; i >= 0; i--) {
      if (this.keys[i] == key) return this.items[i];
    }
    return null;
  }
}

/** The JSON kind's name (static text, for error reasons). */
export function kindName(k: u8): usize {
  switch (k) {
    case J_NULL: return staticText("null");
    case J_BOOL: return staticText("boolean");
    case J_NUM: return staticText("number");
    case J_STR: return staticText("string");
    case J_ARR: return staticText("array");
    default: return staticText("object");
  }
}

/** Value of a JSON number already checked by the grammar (config integers; no parseFloat,
 * which would double the module size). */
function decimalValue(p: usize, n: usize): f64 {
  let i: usize = 0;
  let neg = false;
  if (load<u8>(p) == 0x2d) { neg = true; i++; }
  let m: f64 = 0;
  let scale = 0;
  let digits = 0;
  while (i < n && load<u8>(p + i) >= 0x30 && load<u8>(p + i) <= 0x39) {
    if (digits < 19) m = m * 10 + <f64>(load<u8>(p + i) - 0x30); else scale++;
    if (m > 0) digits++;
    i++;
  }
  if (i < n && load<u8>(p + i) == 0x2e) {
    i++;
    while (i < n && load<u8>(p + i) >= 0x30 && load<u8>(p + i) <= 0x39) {
      if (digits < 19) { m = m * 10 + <f64>(load<u8>(p + i) - 0x30); scale--; if (m > 0) digits++; }
      i++;
    }
  }
  if (i < n) {
    i++; // e / E
    let eneg = false;
    if (load<u8>(p + i) == 0x2b || load<u8>(p + i) == 0x2d) { eneg = load<u8>(p + i) == 0x2d; i++; }
    let ex = 0;
    while (i < n) { if (ex < 100000) ex = ex * 10 + <i32>(load<u8>(p + i) - 0x30); i++; }
    scale += eneg ? -ex : ex;
  }
  const v = scalePow10(m, scale);
  return neg ? -v : v;
}

export class JsonParser {
  private p: usize;
  private n: usize;
  private i: usize = 0;
  /** Why parse() failed (static text) and at which byte; 0 while it has not. */
  error: usize = 0;
  errorAt: usize = 0;

  constructor(ptr: usize, len: usize) { this.p = ptr; this.n = len; }

  /** The whole input as one value, or null with `error` set. */
  parse(): JsonValue | null {
    this.ws();
    const v = this.value(0);
    if (v === null) return null;
    this.ws();
    if (this.i != this.n) return this.fail(staticText("unexpected data after the JSON value"));
    return v;
  }

  private fail(why: usize): JsonValue | null {
    if (this.error == 0) { this.error = why; this.errorAt = this.i; }
    return null;
  }

  private peek(): i32 { return this.i < this.n ? <i32>load<u8>(this.p + this.i) : -1; }

  private ws(): void {
    while (this.i < this.n) {
      const c = load<u8>(this.p + this.i);
      if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) this.i++;
      else break;
    }
  }

  private lit(word: string): bool {
    const len = <usize>word.length;
    if (this.i + len > this.n) return false;
    for (let k: usize = 0; k < len; k++) {
      if (<i32>load<u8>(this.p + this.i + k) != word.charCodeAt(<i32>k)) return false;
    }
    this.i += len;
    return true;
  }

  private value(depth: i32): JsonValue | null {
    if (depth > MAX_DEPTH) return this.fail(staticText("nesting deeper than 32")); // MAX_DEPTH
    const c = this.peek();
    const v = new JsonValue();
    if (c == 0x7b) return this.object(depth);
    if (c == 0x5b) return this.array(depth);
    if (c == 0x22) {
      const s = this.str();
      if (s === null) return null;
      v.kind = J_STR; v.s = s; return v;
    }
    if (c == 0x74) { if (this.lit("true")) { v.kind = J_BOOL; v.b = true; return v; } return this.fail(staticText("invalid literal")); }
    if (c == 0x66) { if (this.lit("false")) { v.kind = J_BOOL; return v; } return this.fail(staticText("invalid literal")); }
    if (c == 0x6e) { if (this.lit("null")) return v; return this.fail(staticText("invalid literal")); }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.num();
    if (c < 0) return this.fail(staticText("unexpected end of input"));
    return this.fail(staticText("unexpected character"));
  }

  private object(depth: i32): JsonValue | null {
    const v = new JsonValue();
    v.kind = J_OBJ;
    this.i++; // {
    this.ws();
    if (this.peek() == 0x7d) { this.i++; return v; }
    while (true) {
      this.ws();
      if (this.peek() != 0x22) return this.fail(staticText("expected a string key"));
      const k = this.str();
      if (k === null) return null;
      this.ws();
      if (this.peek() != 0x3a) return this.fail(staticText("expected ':'"));
      this.i++;
      this.ws();
      const item = this.value(depth + 1);
      if (item === null) return null;
      v.keys.push(k);
      v.items.push(item);
      this.ws();
      const c = this.peek();
      if (c == 0x2c) { this.i++; continue; }
      if (c == 0x7d) { this.i++; return v; }
      return this.fail(staticText("expected ',' or '}'"));
    }
  }

  private array(depth: i32): JsonValue | null {
    const v = new JsonValue();
    v.kind = J_ARR;
    this.i++; // [
    this.ws();
    if (this.peek() == 0x5d) { this.i++; return v; }
    while (true) {
      this.ws();
      const item = this.value(depth + 1);
      if (item === null) return null;
      v.items.push(item);
      this.ws();
      const c = this.peek();
      if (c == 0x2c) { this.i++; continue; }
      if (c == 0x5d) { this.i++; return v; }
      return this.fail(staticText("expected ',' or ']'"));
    }
  }

  private hex4(): i32 {
    if (this.i + 4 > this.n) return -1;
    let r = 0;
    for (let k = 0; k < 4; k++) {
      const c = <i32>load<u8>(this.p + this.i + <usize>k);
      let d = -1;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      if (d < 0) return -1;
      r = (r << 4) | d;
    }
    this.i += 4;
    return r;
  }

  private str(): string | null {
    this.i++; // opening quote
    let out = "";
    let runStart = this.i;
    while (true) {
      if (this.i >= this.n) { this.fail(staticText("unterminated string")); return null; }
      const c = load<u8>(this.p + this.i);
      if (c == 0x22) {
        out += String.UTF8.decodeUnsafe(this.p + runStart, this.i - runStart);
        this.i++;
        return out;
      }
      if (c < 0x20) { this.fail(staticText("control character in string")); return null; }
      if (c != 0x5c) { this.i++; continue; }
      out += String.UTF8.decodeUnsafe(this.p + runStart, this.i - runStart);
      this.i++;
      if (this.i >= this.n) { this.fail(staticText("unterminated escape")); return null; }
      const e = load<u8>(this.p + this.i);
      this.i++;
      if (e == 0x22) out += "\"";
      else if (e == 0x5c) out += "\\";
      else if (e == 0x2f) out += "/";
      else if (e == 0x62) out += "\b";
      else if (e == 0x66) out += "\f";
      else if (e == 0x6e) out += "\n";
      else if (e == 0x72) out += "\r";
      else if (e == 0x74) out += "\t";
      else if (e == 0x75) {
        let cp = this.hex4();
        if (cp < 0) { this.fail(staticText("invalid \\u escape")); return null; }
        if (cp >= 0xd800 && cp <= 0xdbff && this.i + 6 <= this.n &&
            load<u8>(this.p + this.i) == 0x5c && load<u8>(this.p + this.i + 1) == 0x75) {
          this.i += 2;
          const lo = this.hex4();
          if (lo < 0) { this.fail(staticText("invalid \\u escape")); return null; }
          out += String.fromCharCode(cp) + String.fromCharCode(lo);
        } else {
          out += String.fromCharCode(cp);
        }
      } else { this.i--; this.fail(staticText("invalid escape")); return null; }
      runStart = this.i;
    }
  }

  private num(): JsonValue | null {
    const start = this.i;
    if (this.peek() == 0x2d) this.i++;
    let c = this.peek();
    if (c == 0x30) { this.i++; }
    else if (c >= 0x31 && c <= 0x39) { while (this.peek() >= 0x30 && this.peek() <= 0x39) this.i++; }
    else return this.fail(staticText("invalid number"));
    if (this.peek() == 0x2e) {
      this.i++;
      c = this.peek();
      if (!(c >= 0x30 && c <= 0x39)) return this.fail(staticText("invalid number"));
      while (this.peek() >= 0x30 && this.peek() <= 0x39) this.i++;
    }
    c = this.peek();
    if (c == 0x65 || c == 0x45) {
      this.i++;
      c = this.peek();
      if (c == 0x2b || c == 0x2d) this.i++;
      c = this.peek();
      if (!(c >= 0x30 && c <= 0x39)) return this.fail(staticText("invalid number"));
      while (this.peek() >= 0x30 && this.peek() <= 0x39) this.i++;
    }
    const v = new JsonValue();
    v.kind = J_NUM;
    v.n = decimalValue(this.p + start, this.i - start);
    return v;
  }
}
