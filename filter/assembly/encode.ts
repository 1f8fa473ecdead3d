// Pure encoding of one delta batch, wire format v1 (docs/wire-format.md): the series table and
// its interned labels in, MessagePack bytes out. Label values go into a per-batch string table
// in first-use order; buckets are sparse [index, count, ...].
import { Writer } from "./msgpack";
import { InternTable, MAX_STRINGS } from "./intern";
import { SeriesTable, BOUNDS_US, N_BOUNDS, N_BUCKETS, N_TIMINGS } from "./series";
import { N_LABELS, labelName } from "./labels";
import { Identity } from "./identity";

export class Counters {
  requests: u64 = 0;
  foldedRequests: u64 = 0;
  droppedBatches: u64 = 0;
  failedFlushes: u64 = 0;
}

export class BatchEncoder {
  // Per intern id: the batch epoch that last used it, and its index in this batch's `strings`.
  private stamp: usize = heap.alloc(<usize>MAX_STRINGS * 4);
  private idx: usize = heap.alloc(<usize>MAX_STRINGS * 4);
  private order: usize = heap.alloc(<usize>MAX_STRINGS * 4);
  private epoch: u32 = 0;

  constructor() { memory.fill(this.stamp, 0, <usize>MAX_STRINGS * 4); }

  free(): void { heap.free(this.stamp); heap.free(this.idx); heap.free(this.order); }

  /** Encodes the batch into `w` (reset first). */
  encode(
    w: Writer, id: Identity, vm: string, seq: u64, startMs: u64, endMs: u64,
    table: SeriesTable, strings: InternTable, c: Counters,
  ): void {
    w.reset();
    const epoch = ++this.epoch;
    let nStrings: u32 = 0;
    const total = table.used + (table.overflowUsed ? 1 : 0);
    for (let s = 0; s < total; s++) {
      const e = table.entry(s < table.used ? s : table.capacity);
      for (let l = 0; l < N_LABELS; l++) {
        const sid = <usize>table.label(e, l);
        if (load<u32>(this.stamp + (sid << 2)) != epoch) {
          store<u32>(this.stamp + (sid << 2), epoch);
          store<u32>(this.idx + (sid << 2), nStrings);
          store<u32>(this.order + (<usize>nStrings << 2), <u32>sid);
          nStrings++;
        }
      }
    }

    w.mapHeader(10);
    w.str("v"); w.uint(1);
    w.str("proxy");
    w.mapHeader(4);
    w.str("id"); w.str(id.nodeId);
    w.str("workload"); w.str(id.workload);
    w.str("namespace"); w.str(id.namespace);
    w.str("region"); w.str(id.region);
    w.str("vm"); w.str(vm);
    w.str("seq"); w.uint(seq);
    w.str("window"); w.arrayHeader(2); w.uint(startMs); w.uint(endMs);
    w.str("bounds_us");
    w.arrayHeader(<u32>N_BOUNDS);
    for (let i = 0; i < N_BOUNDS; i++) w.uint(<u64>BOUNDS_US[i]);
    w.str("labels");
    w.arrayHeader(<u32>N_LABELS);
    for (let i = 0; i < N_LABELS; i++) w.str(labelName(i));
    w.str("strings");
    w.arrayHeader(nStrings);
    for (let i: u32 = 0; i < nStrings; i++) {
      const sid = <i32>load<u32>(this.order + (<usize>i << 2));
      w.strBytes(strings.ptrOf(sid), strings.lenOf(sid));
    }
    w.str("series");
    w.arrayHeader(<u32>total);
    for (let s = 0; s < total; s++) {
      const e = table.entry(s < table.used ? s : table.capacity);
      w.arrayHeader(3);
      w.arrayHeader(<u32>N_LABELS);
      for (let l = 0; l < N_LABELS; l++) {
        w.uint(<u64>load<u32>(this.idx + (<usize>table.label(e, l) << 2)));
      }
      w.uint(<u64>table.count(e));
      w.arrayHeader(<u32>N_TIMINGS);
      for (let t = 0; t < N_TIMINGS; t++) {
        const n = table.timingN(e, t);
        if (n == 0) { w.nil(); continue; }
        w.arrayHeader(3);
        w.uint(<u64>n);
        w.uint(table.timingSum(e, t));
        let nz: u32 = 0;
        for (let b = 0; b < N_BUCKETS; b++) if (table.bucket(e, t, b) != 0) nz++;
        w.arrayHeader(nz * 2);
        for (let b = 0; b < N_BUCKETS; b++) {
          const cnt = table.bucket(e, t, b);
          if (cnt != 0) { w.uint(<u64>b); w.uint(<u64>cnt); }
        }
      }
    }
    w.str("counters");
    w.mapHeader(4);
    w.str("requests"); w.uint(c.requests);
    w.str("folded_requests"); w.uint(c.foldedRequests);
    w.str("dropped_batches"); w.uint(c.droppedBatches);
    w.str("failed_flushes"); w.uint(c.failedFlushes);
  }
}
