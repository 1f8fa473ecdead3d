// Pure encoding of one delta batch, wire format v2 (docs/wire-format.md): the series table and
// its interned labels in, MessagePack bytes out. Label values go into a per-batch string table
// in first-use order; a series names only the labels that differ from the previous one; its
// timings' exponential histograms are packed into one bin (pack.ts).
import { Writer } from "./msgpack";
import { InternTable, MAX_STRINGS } from "./intern";
import { SeriesTable, N_TIMINGS } from "./series";
import { TIMING_BYTES } from "./exphist";
import { packTimings } from "./pack";
import { N_LABELS, labelName } from "./labels";
import { Identity } from "./identity";
import { Exemplars } from "./exemplar";

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
    table: SeriesTable, strings: InternTable, c: Counters, ex: Exemplars,
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

    w.mapHeader(9);
    w.str("v"); w.uint(2);
    w.str("proxy");
    w.mapHeader(4);
    w.str("id"); w.str(id.nodeId);
    w.str("workload"); w.str(id.workload);
    w.str("namespace"); w.str(id.namespace);
    w.str("region"); w.str(id.region);
    w.str("vm"); w.str(vm);
    w.str("seq"); w.uint(seq);
    w.str("window"); w.arrayHeader(2); w.uint(startMs); w.uint(endMs);
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
    let prev: usize = 0;
    for (let s = 0; s < total; s++) {
      const i = s < table.used ? s : table.capacity;
      const e = table.entry(i);
      const idLen = ex.idLen(i);
      w.arrayHeader(idLen != 0 ? 4 : 3);
      // Labels: a mask of the positions that differ from the previous series (all for the
      // first), then those positions' string indices.
      let mask: u32 = 0;
      for (let l = 0; l < N_LABELS; l++) {
        if (prev == 0 || table.label(e, l) != table.label(prev, l)) mask |= 1 << l;
      }
      w.arrayHeader(1 + popcnt(mask));
      w.uint(<u64>mask);
      for (let l = 0; l < N_LABELS; l++) {
        if (mask & (1 << l)) w.uint(<u64>load<u32>(this.idx + (<usize>table.label(e, l) << 2)));
      }
      prev = e;
      w.uint(<u64>table.count(e));
      packTimings(w, table.timing(e, 0), TIMING_BYTES, N_TIMINGS);
      // The exemplar: [trace id bin, value µs, wall-clock end ms] (exemplar.ts)
      if (idLen != 0) {
        w.arrayHeader(3);
        w.bin8(ex.idPtr(i), idLen);
        w.uint(ex.valueUs(i));
        w.uint(ex.timeMs(i));
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
