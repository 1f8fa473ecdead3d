// Label values interned to small integer ids, so a series key is a tuple of u16 and the per-
// request path hashes integers. Fixed capacity, raw memory allocated once per configuration:
// when full, new values map to `overflow` (bounded memory whatever the traffic sends). The
// table is compacted back to its pinned constants between windows when it gets crowded.

export const MAX_STRINGS: i32 = 4096;
/** Longest label value kept (bytes): DNS names and Kubernetes names fit; anything longer, not
 * valid UTF-8 or holding a NUL (the aggregator refuses NUL in label values: it separates them in
 * its store keys) becomes `other` so one hostile value cannot get a batch rejected. */
export const MAX_LABEL_BYTES: usize = 256;

/** Strict UTF-8 check (RFC 3629: no overlongs, no surrogates, <= U+10FFFF), NUL refused. */
export function validUtf8(p: usize, n: usize): bool {
  let i: usize = 0;
  while (i < n) {
    const c = <u32>load<u8>(p + i);
    if (c < 0x80) { if (c == 0) return false; i++; continue; }
    let need: usize = 0;
    let min: u32 = 0;
    let cp: u32 = 0;
    if ((c & 0xe0) == 0xc0) { need = 1; min = 0x80; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { need = 2; min = 0x800; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { need = 3; min = 0x10000; cp = c & 0x07; }
    else return false;
    for (let k: usize = 1; k <= need; k++) {
      if (i + k >= n) return false;
      const d = <u32>load<u8>(p + i + k);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += need + 1;
  }
  return true;
}
const INDEX_SLOTS: i32 = 8192;            // power of two, 2x MAX_STRINGS
const BYTES_CAP: usize = 256 * 1024;       // string bytes

// @ts-ignore: decorator
@inline
export function fnv1a(p: usize, n: usize): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i: usize = 0; i < n; i++) {
    h = (h ^ <u32>load<u8>(p + i)) * 0x01000193;
  }
  return h;
}

export class InternTable {
  // per id: offset (u32), length (u32), hash (u32)
  private offs: usize = heap.alloc(<usize>MAX_STRINGS * 4);
  private lens: usize = heap.alloc(<usize>MAX_STRINGS * 4);
  private hashes: usize = heap.alloc(<usize>MAX_STRINGS * 4);
  private index: usize = heap.alloc(<usize>INDEX_SLOTS * 2); // u16: id+1, 0 = empty
  private bytes: usize = heap.alloc(BYTES_CAP);
  private bytesTop: usize = 0;
  count: i32 = 0;
  pinnedCount: i32 = 0;
  overflowId: i32 = 0;
  otherId: i32 = 0;
  /** Bumped whenever ids are invalidated (compaction), so caches can check it. */
  generation: u32 = 0;
  /** Set when intern() answered `overflowId` because the table is full; the caller clears it. */
  full: bool = false;

  constructor() {
    memory.fill(this.index, 0, <usize>INDEX_SLOTS * 2);
  }

  free(): void {
    heap.free(this.offs); heap.free(this.lens); heap.free(this.hashes);
    heap.free(this.index); heap.free(this.bytes);
  }

  // @ts-ignore: decorator
  @inline ptrOf(id: i32): usize { return this.bytes + <usize>load<u32>(this.offs + (<usize>id << 2)); }
  // @ts-ignore: decorator
  @inline lenOf(id: i32): usize { return <usize>load<u32>(this.lens + (<usize>id << 2)); }

  /** Id of the bytes, or -1 if they were never interned. */
  find(p: usize, n: usize): i32 {
    const h = fnv1a(p, n);
    let slot = <i32>(h & <u32>(INDEX_SLOTS - 1));
    while (true) {
      const e = <i32>load<u16>(this.index + (<usize>slot << 1));
      if (e == 0) return -1;
      const id = e - 1;
      if (load<u32>(this.hashes + (<usize>id << 2)) == h && this.lenOf(id) == n &&
          memory.compare(this.ptrOf(id), p, n) == 0) return id;
      slot = (slot + 1) & (INDEX_SLOTS - 1);
    }
  }

  /** Id of the bytes, interning them when new; `overflowId` when the table is full, `otherId`
   * for values over MAX_LABEL_BYTES or not valid UTF-8. */
  intern(p: usize, n: usize): i32 {
    if (n > MAX_LABEL_BYTES) return this.otherId;
    const h = fnv1a(p, n);
    let slot = <i32>(h & <u32>(INDEX_SLOTS - 1));
    while (true) {
      const e = <i32>load<u16>(this.index + (<usize>slot << 1));
      if (e == 0) break;
      const id = e - 1;
      if (load<u32>(this.hashes + (<usize>id << 2)) == h && this.lenOf(id) == n &&
          memory.compare(this.ptrOf(id), p, n) == 0) return id;
      slot = (slot + 1) & (INDEX_SLOTS - 1);
    }
    if (!validUtf8(p, n)) return this.otherId;
    if (this.count >= MAX_STRINGS || this.bytesTop + n > BYTES_CAP) { this.full = true; return this.overflowId; }
    const id = this.count++;
    memory.copy(this.bytes + this.bytesTop, p, n);
    store<u32>(this.offs + (<usize>id << 2), <u32>this.bytesTop);
    store<u32>(this.lens + (<usize>id << 2), <u32>n);
    store<u32>(this.hashes + (<usize>id << 2), h);
    store<u16>(this.index + (<usize>slot << 1), <u16>(id + 1));
    this.bytesTop += n;
    return id;
  }

  internString(s: string): i32 {
    const b = String.UTF8.encode(s, false);
    return this.intern(changetype<usize>(b), <usize>b.byteLength);
  }

  /** Marks every id interned so far as permanent (configuration constants). */
  pin(): void { this.pinnedCount = this.count; }

  /** True when more than 3/4 full: worth compacting between windows. */
  crowded(): bool {
    return this.count > (MAX_STRINGS * 3) / 4 || this.bytesTop > (BYTES_CAP * 3) / 4;
  }

  /** Drops every non-pinned id. Only call when nothing refers to them (empty series table). */
  compact(): void {
    if (this.count == this.pinnedCount) return;
    this.count = this.pinnedCount;
    this.bytesTop = this.count == 0 ? 0
      : <usize>load<u32>(this.offs + (<usize>(this.count - 1) << 2)) + this.lenOf(this.count - 1);
    memory.fill(this.index, 0, <usize>INDEX_SLOTS * 2);
    for (let id = 0; id < this.count; id++) {
      let slot = <i32>(load<u32>(this.hashes + (<usize>id << 2)) & <u32>(INDEX_SLOTS - 1));
      while (load<u16>(this.index + (<usize>slot << 1)) != 0) slot = (slot + 1) & (INDEX_SLOTS - 1);
      store<u16>(this.index + (<usize>slot << 1), <u16>(id + 1));
    }
    this.generation++;
  }
}
