// The per-VM series table: fixed capacity (max_series) plus one catch-all `overflow` series,
// keyed by the label ids (one u16 per label of labels.ts), each series holding a count and, per
// timing, an exponential histogram (exphist.ts). Raw memory allocated once per configuration; recording a request
// never allocates.
import { N_LABELS } from "./labels";
import { TIMING_BYTES, record } from "./exphist";

export const N_TIMINGS: i32 = 5;          // request, upstream, proxy, app, network
export const T_REQUEST: i32 = 0;
export const T_UPSTREAM: i32 = 1;
export const T_PROXY: i32 = 2;
export const T_APP: i32 = 3;
export const T_NETWORK: i32 = 4;

// Entry layout (bytes), all derived from N_LABELS (with 10 labels: key 0..20, count at 20,
// timings from 24, 984 bytes an entry):
//   key      N_LABELS x u16 label ids, zero-padded to whole u32 words (KEY_SPAN): hashed,
//            compared and copied as words, so every label takes part and padding never differs
//   count    u32
//   timings  N_TIMINGS x TIMING_BYTES (exphist.ts: sum, n, scale, offset, 86 u16 bucket counts)
export const KEY_BYTES: usize = <usize>N_LABELS << 1;
const KEY_SPAN: usize = (KEY_BYTES + 3) & ~<usize>3;
const OFF_COUNT: usize = KEY_SPAN;
const OFF_TIMINGS: usize = (OFF_COUNT + 4 + 7) & ~<usize>7;
export const ENTRY_BYTES: usize = OFF_TIMINGS + TIMING_BYTES * <usize>N_TIMINGS;

/** Whether the keys at a and b are equal, word by word over KEY_SPAN. */
// @ts-ignore: decorator
@inline
function sameKey(a: usize, b: usize): bool {
  for (let i: usize = 0; i < KEY_SPAN; i += 4) if (load<u32>(a + i) != load<u32>(b + i)) return false;
  return true;
}

export class SeriesTable {
  capacity: i32;
  used: i32 = 0;              // entries 0..used-1 are live, in insertion order
  overflowUsed: bool = false; // entry `capacity` is the catch-all
  folded: u64 = 0;            // requests folded into overflow this window
  private entries: usize;
  private index: usize;       // u32 slots: entry+1, 0 = empty
  private mask: u32;
  /** Key being built for the next record(): N_LABELS x u16, then zero padding. */
  key: usize = heap.alloc(KEY_SPAN);

  constructor(capacity: i32) {
    this.capacity = capacity;
    this.entries = heap.alloc(<usize>(capacity + 1) * ENTRY_BYTES);
    let slots: u32 = 32;
    while (slots < <u32>capacity * 2) slots <<= 1;
    this.mask = slots - 1;
    this.index = heap.alloc(<usize>slots * 4);
    memory.fill(this.entries, 0, <usize>(capacity + 1) * ENTRY_BYTES);
    memory.fill(this.index, 0, <usize>slots * 4);
    memory.fill(this.key, 0, KEY_SPAN);
  }

  free(): void { heap.free(this.entries); heap.free(this.index); heap.free(this.key); }

  // @ts-ignore: decorator
  @inline setLabel(i: i32, id: i32): void { store<u16>(this.key + (<usize>i << 1), <u16>id); }

  isEmpty(): bool { return this.used == 0 && !this.overflowUsed; }

  // @ts-ignore: decorator
  @inline entry(i: i32): usize { return this.entries + <usize>i * ENTRY_BYTES; }
  label(e: usize, i: i32): i32 { return <i32>load<u16>(e + (<usize>i << 1)); }
  count(e: usize): u32 { return load<u32>(e + OFF_COUNT); }
  /** The timing's histogram (read it with exphist.ts). */
  // @ts-ignore: decorator
  @inline timing(e: usize, t: i32): usize { return e + OFF_TIMINGS + <usize>t * TIMING_BYTES; }

  /** The entry for the key in `key`, creating it; the overflow entry when the table is full. */
  lookup(overflowId: i32): usize {
    const k = this.key;
    // Hash the key's u32 words (murmur-style mixing): no allocation, few instructions.
    let h: u32 = 0x9747b28c;
    for (let i: usize = 0; i < KEY_SPAN; i += 4) {
      let w = load<u32>(k + i) * 0xcc9e2d51;
      w = rotl<u32>(w, 15) * 0x1b873593;
      h = rotl<u32>(h ^ w, 13) * 5 + 0xe6546b64;
    }
    h ^= h >>> 16; h *= 0x85ebca6b; h ^= h >>> 13;
    let slot = h & this.mask;
    while (true) {
      const v = load<u32>(this.index + (<usize>slot << 2));
      if (v == 0) break;
      const e = this.entry(<i32>v - 1);
      if (sameKey(e, k)) return e;
      slot = (slot + 1) & this.mask;
    }
    if (this.used < this.capacity) {
      const idx = this.used++;
      store<u32>(this.index + (<usize>slot << 2), <u32>idx + 1);
      const e = this.entry(idx);
      memory.copy(e, k, KEY_SPAN);
      return e;
    }
    return this.catchAll(overflowId);
  }

  /** The catch-all entry (every label `overflow`), counting the fold. */
  catchAll(overflowId: i32): usize {
    const e = this.entry(this.capacity);
    if (!this.overflowUsed) {
      this.overflowUsed = true;
      for (let i = 0; i < N_LABELS; i++) store<u16>(e + (<usize>i << 1), <u16>overflowId);
    }
    this.folded++;
    return e;
  }

  // @ts-ignore: decorator
  @inline addCount(e: usize): void { store<u32>(e + OFF_COUNT, load<u32>(e + OFF_COUNT) + 1); }

  // @ts-ignore: decorator
  @inline observe(e: usize, t: i32, us: u64): void { record(this.timing(e, t), us); }

  /** Starts a new window: every series gone, memory kept. */
  clear(): void {
    if (this.used > 0) {
      memory.fill(this.entries, 0, <usize>this.used * ENTRY_BYTES);
      memory.fill(this.index, 0, (<usize>this.mask + 1) * 4);
    }
    if (this.overflowUsed) memory.fill(this.entry(this.capacity), 0, ENTRY_BYTES);
    this.used = 0;
    this.overflowUsed = false;
    this.folded = 0;
  }
}
