// A MessagePack writer into a growable raw buffer that is reused from batch to batch
// (grows by doubling, never shrinks), using the smallest encoding for every integer,
// string, array and map header (msgpack spec "Formats").

export class Writer {
  ptr: usize = 0;
  cap: usize = 0;
  len: usize = 0;

  reset(): void { this.len = 0; }

  ensure(extra: usize): void {
    const need = this.len + extra;
    if (need <= this.cap) return;
    let c = this.cap == 0 ? <usize>4096 : this.cap;
    while (c < need) c <<= 1;
    this.ptr = this.ptr == 0 ? heap.alloc(c) : heap.realloc(this.ptr, c);
    this.cap = c;
  }

  free(): void { if (this.ptr != 0) heap.free(this.ptr); this.ptr = 0; this.cap = 0; this.len = 0; }

  /** A tag byte and then the low `n` bytes of `v` big-endian: every header and integer is one
   * (one capacity check and no inlined copy per form keeps the module small). */
  private head(tag: u32, v: u64, n: usize): void {
    this.ensure(9);
    const p = this.ptr + this.len;
    store<u8>(p, <u8>tag);
    for (let k = n; k > 0; k--) { store<u8>(p + k, <u8>v); v >>= 8; }
    this.len += n + 1;
  }

  uint(v: u64): void {
    if (v < 128) this.head(<u32>v, 0, 0);
    else if (v < 0x100) this.head(0xcc, v, 1);
    else if (v < 0x10000) this.head(0xcd, v, 2);
    else if (v < 0x100000000) this.head(0xce, v, 4);
    else this.head(0xcf, v, 8);
  }

  nil(): void { this.head(0xc0, 0, 0); }

  /** A short bin (bin 8: under 256 bytes) of the bytes at [p, p+n): an exemplar's trace id. */
  bin8(p: usize, n: usize): void {
    this.head(0xc4, <u64>n, 1);
    this.ensure(n);
    memory.copy(this.ptr + this.len, p, n);
    this.len += n;
  }

  arrayHeader(n: u32): void {
    if (n < 16) this.head(0x90 | n, 0, 0);
    else if (n < 0x10000) this.head(0xdc, n, 2);
    else this.head(0xdd, n, 4);
  }

  mapHeader(n: u32): void {
    if (n < 16) this.head(0x80 | n, 0, 0);
    else if (n < 0x10000) this.head(0xde, n, 2);
    else this.head(0xdf, n, 4);
  }

  strHeader(n: u32): void {
    if (n < 32) this.head(0xa0 | n, 0, 0);
    else if (n < 0x100) this.head(0xd9, n, 1);
    else if (n < 0x10000) this.head(0xda, n, 2);
    else this.head(0xdb, n, 4);
  }

  strBytes(p: usize, n: usize): void {
    this.strHeader(<u32>n);
    this.ensure(n);
    memory.copy(this.ptr + this.len, p, n);
    this.len += n;
  }

  /** An ASCII/UTF-8 string constant (keys); encodes through a static buffer-free path. */
  str(s: string): void {
    const n = <usize>String.UTF8.byteLength(s, false);
    this.strHeader(<u32>n);
    this.ensure(n);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, this.ptr + this.len, false);
    this.len += n;
  }

  // Wire v2's packed timings: raw bytes and LEB128 varints inside a bin whose length is known
  // only at its end.

  /** One raw byte. */
  byte(b: u32): void { this.ensure(1); store<u8>(this.ptr + this.len, <u8>b); this.len += 1; }

  /** Unsigned LEB128. */
  varint(v: u64): void {
    this.ensure(10);
    let p = this.ptr + this.len;
    while (v >= 0x80) { store<u8>(p++, <u8>(v | 0x80)); v >>= 7; }
    store<u8>(p++, <u8>v);
    this.len = p - this.ptr;
  }

  /** Starts a bin whose length is known only at binEnd(): room for the bin8 header (the
   * capacity follows with the bin's first write, before binEnd() stores into it). */
  binBegin(): usize { const at = this.len; this.len += 2; return at; }

  /** Completes the bin begun at `at`: bin 8, or bin 16 with its bytes moved one on (a series'
   * timings stay far below 64 KiB: 5 x 86 buckets of a few bytes each). */
  binEnd(at: usize): void {
    const n = this.len - at - 2;
    if (n >= 0x100) {
      this.ensure(1);
      memory.copy(this.ptr + at + 3, this.ptr + at + 2, n);
      this.len += 1;
      store<u8>(this.ptr + at + 2, <u8>n);
    }
    store<u16>(this.ptr + at, n < 0x100 ? <u16>(0xc4 | (n << 8)) : <u16>(0xc5 | (n & 0xff00)));
  }
}
