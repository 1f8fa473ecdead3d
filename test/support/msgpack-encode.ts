// A minimal MessagePack encoder with the filter's integer rule: every non-negative integer
// takes the smallest unsigned form (fixint, uint8/16/32/64), as docs/wire-format.md requires.
// (msgpackr writes integers above 2^32 as float64, or BigInt as int64.) Non-integers are float64
// so that negative tests can send NaN or fractions; decoding is always msgpackr's.
const te = new TextEncoder();

export function encodeMsgpack(value: unknown): Uint8Array {
  const out: number[] = [];
  const u = (n: number, bytes: number) => { for (let i = bytes - 1; i >= 0; i--) out.push(Number((BigInt(n) >> BigInt(8 * i)) & 0xffn)); };
  const ub = (n: bigint, bytes: number) => { for (let i = bytes - 1; i >= 0; i--) out.push(Number((n >> BigInt(8 * i)) & 0xffn)); };
  const len = (n: number, fix: number, fixMax: number, c16: number, c32: number, c8?: number) => {
    if (n <= fixMax) out.push(fix | n);
    else if (c8 !== undefined && n <= 0xff) { out.push(c8); u(n, 1); }
    else if (n <= 0xffff) { out.push(c16); u(n, 2); }
    else { out.push(c32); u(n, 4); }
  };
  const int = (n: bigint) => {
    if (n >= 0n) {
      if (n < 128n) out.push(Number(n));
      else if (n <= 0xffn) { out.push(0xcc); ub(n, 1); }
      else if (n <= 0xffffn) { out.push(0xcd); ub(n, 2); }
      else if (n <= 0xffffffffn) { out.push(0xce); ub(n, 4); }
      else { out.push(0xcf); ub(n, 8); }
    } else {
      if (n >= -32n) out.push(Number(n & 0xffn));
      else if (n >= -128n) { out.push(0xd0); ub(n & 0xffn, 1); }
      else if (n >= -32768n) { out.push(0xd1); ub(n & 0xffffn, 2); }
      else if (n >= -2147483648n) { out.push(0xd2); ub(n & 0xffffffffn, 4); }
      else { out.push(0xd3); ub(BigInt.asUintN(64, n), 8); }
    }
  };
  const enc = (v: unknown): void => {
    if (v === null || v === undefined) out.push(0xc0);
    else if (typeof v === "boolean") out.push(v ? 0xc3 : 0xc2);
    else if (typeof v === "bigint") int(v);
    else if (typeof v === "number") {
      if (Number.isSafeInteger(v)) int(BigInt(v));
      else { out.push(0xcb); const b = new DataView(new ArrayBuffer(8)); b.setFloat64(0, v); for (let i = 0; i < 8; i++) out.push(b.getUint8(i)); }
    } else if (typeof v === "string") {
      const b = te.encode(v);
      len(b.length, 0xa0, 31, 0xda, 0xdb, 0xd9);
      for (const x of b) out.push(x);
    } else if (v instanceof Uint8Array) {
      if (v.length <= 0xff) { out.push(0xc4); u(v.length, 1); } else if (v.length <= 0xffff) { out.push(0xc5); u(v.length, 2); } else { out.push(0xc6); u(v.length, 4); }
      for (const x of v) out.push(x);
    } else if (Array.isArray(v)) {
      len(v.length, 0x90, 15, 0xdc, 0xdd);
      for (const x of v) enc(x);
    } else if (typeof v === "object") {
      const e = Object.entries(v as Record<string, unknown>);
      len(e.length, 0x80, 15, 0xde, 0xdf);
      for (const [k, x] of e) { enc(k); enc(x); }
    } else throw new TypeError(`cannot encode ${typeof v}`);
  };
  enc(value);
  return Uint8Array.from(out);
}
