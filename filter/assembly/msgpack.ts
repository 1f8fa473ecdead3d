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

  // @ts-ignore: decorator
  @inline u8(b: u32): void { this.ensure(1); store<u8>(this.ptr + this.len, <u8>b); this.len += 1; }
  // @ts-ignore: decorator
  @inline be16(v: u32): void { this.ensure(2); store<u16>(this.ptr + this.len, bswap<u16>(<u16>v)); this.len += 2; }
  // @ts-ignore: decorator
  @inline be32(v: u32): void { this.ensure(4); store<u32>(this.ptr + this.len, bswap<u32>(v)); this.len += 4; }
  // @ts-ignore: decorator
  @inline be64(v: u64): void { this.ensure(8); store<u64>(this.ptr + this.len, bswap<u64>(v)); this.len += 8; }

  uint(v: u64): void {
    if (v < 128) this.u8(<u32>v);
    else if (v < 0x100) { this.u8(0xcc); this.u8(<u32>v); }
    else if (v < 0x10000) { this.u8(0xcd); this.be16(<u32>v); }
    else if (v < 0x100000000) { this.u8(0xce); this.be32(<u32>v); }
    else { this.u8(0xcf); this.be64(v); }
  }

  nil(): void { this.u8(0xc0); }

  arrayHeader(n: u32): void {
    if (n < 16) this.u8(0x90 | n);
    else if (n < 0x10000) { this.u8(0xdc); this.be16(n); }
    else { this.u8(0xdd); this.be32(n); }
  }

  mapHeader(n: u32): void {
    if (n < 16) this.u8(0x80 | n);
    else if (n < 0x10000) { this.u8(0xde); this.be16(n); }
    else { this.u8(0xdf); this.be32(n); }
  }

  strHeader(n: u32): void {
    if (n < 32) this.u8(0xa0 | n);
    else if (n < 0x100) { this.u8(0xd9); this.u8(n); }
    else if (n < 0x10000) { this.u8(0xda); this.be16(n); }
    else { this.u8(0xdb); this.be32(n); }
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
}
