// The exemplar of each series for the current window: its slowest request that carried a trace
// id (request-headers.ts, kept in the stream's slot), with that request's total time and
// wall-clock end. One fixed record per series-table entry, allocated with the table; a window
// is cleared by moving to the next epoch, so neither recording nor flushing touches more than
// the records in use.
import { ENTRY_BYTES, SeriesTable } from "./series";
import * as S from "./slots";

// Record layout: 0 epoch u32 (the record is current when it equals `epoch`), 4 trace id length
// u32, 8 value µs u64, 16 end wall ms u64, 24 trace id (16 bytes).
const REC: usize = 40;

// Unmanaged: the records live as long as the plugin, which frees them; nothing for the GC to trace.
// @ts-ignore: decorator
@unmanaged
export class Exemplars {
  private base: usize;
  private bytes: usize;
  private first: usize;   // the series table's entry 0, to turn an entry into its index
  private epoch: u32 = 1;

  /** Records for every entry of `table` (its capacity plus the catch-all). */
  constructor(table: SeriesTable) {
    const bytes = <usize>(table.capacity + 1) * REC;
    this.bytes = bytes;
    this.base = heap.alloc(bytes);
    memory.fill(this.base, 0, bytes);
    this.first = table.entry(0);
  }

  free(): void {
    heap.free(this.base);
    heap.free(changetype<usize>(this));
  }

  // @ts-ignore: decorator
  @inline private rec(i: i32): usize { return this.base + <usize>i * REC; }

  /** Series entry `e` saw stream `s`, which carries a trace id, take `valueUs`, ending at
   * wall `endNs`: it becomes the exemplar unless an earlier one of this window was as slow. */
  offer(e: usize, s: usize, valueUs: u64, endNs: u64): void {
    const r = this.rec(<i32>((e - this.first) / ENTRY_BYTES));
    if (load<u32>(r) == this.epoch && load<u64>(r, 8) >= valueUs) return;
    store<u32>(r, this.epoch);
    store<u32>(r, S.traceLen(s), 4);
    store<u64>(r, valueUs, 8);
    store<u64>(r, endNs / 1000000, 16);
    memory.copy(r + 24, S.traceId(s), 16);
  }

  /** Trace id length of entry index `i`'s exemplar: 0 when it has none this window. */
  idLen(i: i32): u32 {
    const r = this.rec(i);
    return load<u32>(r) == this.epoch ? load<u32>(r, 4) : 0;
  }
  idPtr(i: i32): usize { return this.rec(i) + 24; }
  valueUs(i: i32): u64 { return load<u64>(this.rec(i), 8); }
  timeMs(i: i32): u64 { return load<u64>(this.rec(i), 16); }

  /** Starts a new window: every exemplar gone. */
  clear(): void {
    // a zeroed record holds epoch 0, which is never current: after 2^32 windows start over
    if (++this.epoch == 0) {
      memory.fill(this.base, 0, this.bytes);
      this.epoch = 1;
    }
  }
}
