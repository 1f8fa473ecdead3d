// Delivery of encoded batches: a bounded in-order outbox, one proxy_http_call in flight,
// retry with exponential backoff (in ticks), drop-oldest past max_buffered_batches.
// Aggregator answers (docs/wire-format.md "Aggregator responses"): 2xx delivered; 400, 403, 411,
// 413 and 415 can never succeed as sent, drop; anything else (408, 429, 5xx...), a reset
// (0 headers) or a timeout: keep and retry, no sooner than a Retry-After asks.
import { proxy_http_call } from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { Writer } from "./msgpack";
import { Counters } from "./encode";
import {
  Config, F_AGGREGATOR_CLUSTER, F_AGGREGATOR_PATH, F_FLUSH_INTERVAL_MS,
  F_MAX_BUFFERED_BATCHES,
} from "./config";
import { Bytes, monoNow, LOG_ERROR, LOG_WARN, WASM_OK } from "./abi";
import * as E from "./errors";
import * as L from "./log-line";

const CALL_TIMEOUT_MS: u32 = 5000;
const BACKOFF_CAP_MS: i32 = 30000;
/** Longest Retry-After honoured (s): the backoff cap, so a bad value cannot stall delivery. */
export const RETRY_AFTER_CAP_S: i64 = BACKOFF_CAP_MS / 1000;

/** Whether an aggregator answer means the batch can never be accepted as sent: 400 invalid,
 * 403 the caller's identity may not report it, 411 no content-length (the filter always sends
 * one), 413 too large, 415 wrong content type. Retrying cannot help; 408 (the body was too slow)
 * and every other status can. */
// @ts-ignore: decorator
@inline
function refused(status: u32): bool {
  return status == 400 || status == 403 || status == 411 || status == 413 || status == 415;
}

/** proxy-wasm pairs serialization (ABI spec "Serialization"): count, sizes, NUL-ended strings. */
function serializePairs(keys: string[], values: string[]): ArrayBuffer {
  let size = 4 + keys.length * 8;
  for (let i = 0; i < keys.length; i++) {
    size += String.UTF8.byteLength(keys[i]) + 1 + String.UTF8.byteLength(values[i]) + 1;
  }
  const buf = new ArrayBuffer(size);
  const p = changetype<usize>(buf);
  store<u32>(p, <u32>keys.length);
  let off: usize = 4 + <usize>keys.length * 8;
  for (let i = 0; i < keys.length; i++) {
    const kl = String.UTF8.byteLength(keys[i]);
    const vl = String.UTF8.byteLength(values[i]);
    store<u32>(p + 4 + <usize>i * 8, <u32>kl);
    store<u32>(p + 8 + <usize>i * 8, <u32>vl);
    String.UTF8.encodeUnsafe(changetype<usize>(keys[i]), keys[i].length, p + off, true);
    off += <usize>kl + 1;
    String.UTF8.encodeUnsafe(changetype<usize>(values[i]), values[i].length, p + off, true);
    off += <usize>vl + 1;
  }
  return buf;
}

export class Outbox {
  private cluster: Bytes;
  private headers: ArrayBuffer;
  private trailers: ArrayBuffer;
  private counters: Counters;
  private keep: i32;                 // max_buffered_batches
  private limit: i32;                // batches held at once (at least the one being sent)
  private slots: Writer[] = [];
  private seqs: StaticArray<u64>;
  private head: i32 = 0;
  count: i32 = 0;
  private inflight: bool = false;
  private inflightToken: u32 = 0;
  private inflightSeq: u64 = 0;
  private inflightDropped: bool = false; // pushed out of the buffer while on the wire
  private tickNo: u64 = 0;
  private nextAttempt: u64 = 0;
  private streak: i32 = 0;
  private dropLogged: bool = false;
  private backoffCapTicks: i32;
  /** Monotonic ns before which nothing is sent (the last answer's Retry-After); 0: none. */
  private notBefore: u64 = 0;
  private tokenOut: usize = heap.alloc(8);
  /** The last send of a root going away: each waiting batch once, no retry (finalFlush). */
  private final: bool = false;

  constructor(c: Config, counters: Counters, authority: string) {
    const keep = c.int(F_MAX_BUFFERED_BATCHES);
    const limit = max(keep, 1);
    this.seqs = new StaticArray<u64>(limit);
    this.cluster = new Bytes(c.str(F_AGGREGATOR_CLUSTER));
    this.headers = serializePairs(
      [":method", ":path", ":authority", "content-type"],
      ["POST", c.str(F_AGGREGATOR_PATH), authority, "application/msgpack"],
    );
    this.trailers = serializePairs([], []);
    this.counters = counters;
    this.keep = keep;
    this.limit = limit;
    for (let i = 0; i < this.limit; i++) this.slots.push(new Writer());
    this.backoffCapTicks = max(1, BACKOFF_CAP_MS / c.int(F_FLUSH_INTERVAL_MS));
  }

  free(): void {
    for (let i = 0; i < this.slots.length; i++) this.slots[i].free();
    heap.free(this.tokenOut);
  }

  /** Counts one tick (backoff is measured in ticks). */
  tick(): void { this.tickNo++; }

  /** Queues a copy of `w` as batch `seq` (call makeRoom first so the batch counts the drop). */
  push(w: Writer, seq: u64): void {
    this.makeRoom();
    const at = (this.head + this.count) % this.limit;
    const slot = this.slots[at];
    slot.reset();
    slot.ensure(w.len);
    memory.copy(slot.ptr, w.ptr, w.len);
    slot.len = w.len;
    unchecked(this.seqs[at] = seq);
    this.count++;
  }

  /** Drops the oldest waiting batch when `limit` are waiting (counted in dropped_batches). */
  makeRoom(): void {
    if (this.count == this.limit) {
      if (!this.dropLogged) {
        this.dropLogged = true;
        L.str(E.BATCH_DROPPED); L.text(staticText(": more than ")); L.num(this.keep);
        L.text(staticText(" batches waiting for the aggregator; dropping the oldest"));
        L.emit(LOG_WARN);
      }
      // The oldest may be the batch on the wire, which can still be delivered: it counts as
      // dropped only if its answer says it was not.
      const onWire = this.inflight && unchecked(this.seqs[this.head]) == this.inflightSeq;
      this.popHead();
      if (onWire) this.inflightDropped = true;
      else this.counters.droppedBatches++;
    }
  }

  /** Moves every waiting batch, oldest first, behind those of `to` (keeping its seq and bytes),
   * leaving this outbox empty: a root context that goes away hands its batches on this way. */
  drainInto(to: Outbox): void {
    for (let i = 0; i < this.count; i++) {
      const at = (this.head + i) % this.limit;
      to.push(this.slots[at], unchecked(this.seqs[at]));
    }
    this.count = 0;
    if (this.notBefore > to.notBefore) to.notBefore = this.notBefore; // the same aggregator asked
  }

  private popHead(): void {
    this.head = (this.head + 1) % this.limit;
    this.count--;
    // An empty ring restarts at slot 0: with a healthy aggregator one buffer serves every batch.
    if (this.count == 0 && !this.inflight) this.head = 0;
  }

  /** True while a POST is on the wire. */
  get busy(): bool { return this.inflight; }

  /** The root goes away: send what waits now, each batch once in order, and stop at the first
   * failure (nothing would retry it). Returns whether a POST is on the wire (then the caller
   * waits for its answer: proxy_on_done false, proxy_done once `busy` turns false). */
  finalFlush(): bool {
    this.final = true;
    this.nextAttempt = 0;
    this.notBefore = 0; // the last chance to send: no later one to wait for
    this.tickNo = 0;
    this.pump();
    return this.inflight;
  }

  /** Sends the oldest waiting batch when nothing is in flight and the backoff allows. */
  pump(): void {
    if (this.notBefore != 0) {
      // Read the clock only while a Retry-After holds (never on the request path).
      if (this.inflight || this.count == 0 || monoNow() < this.notBefore) return;
      this.notBefore = 0;
    }
    while (!this.inflight && this.count > 0 && this.tickNo >= this.nextAttempt) {
      const slot = this.slots[this.head];
      const r = proxy_http_call(
        this.cluster.ptr, this.cluster.len,
        changetype<usize>(this.headers), <usize>this.headers.byteLength,
        slot.ptr, slot.len,
        changetype<usize>(this.trailers), <usize>this.trailers.byteLength,
        CALL_TIMEOUT_MS, this.tokenOut,
      );
      if (r != WASM_OK) {
        if (this.streak == 0) {
          L.str(E.HTTP_CALL); L.text(staticText(": proxy_http_call to cluster ")); L.text(this.cluster.text);
          L.text(staticText(" refused with status ")); L.num(r);
          L.emit(LOG_WARN);
        }
        this.failed();
        if (this.final) return;
        continue;
      }
      this.inflight = true;
      this.inflightToken = load<u32>(this.tokenOut);
      this.inflightSeq = unchecked(this.seqs[this.head]);
    }
  }

  /** proxy_on_http_call_response: `status` 0 means reset/no headers; `retryAfterS` the
   * answer's Retry-After in seconds, -1 when it has none (or not as delta-seconds). */
  onResponse(token: u32, status: u32, retryAfterS: i64): void {
    if (!this.inflight || token != this.inflightToken) return;
    this.inflight = false;
    if (this.inflightDropped) {
      this.inflightDropped = false;
      if (status < 200 || status >= 300) this.counters.droppedBatches++;
    }
    const stillHead = this.count > 0 && unchecked(this.seqs[this.head]) == this.inflightSeq;
    if (status >= 200 && status < 300) {
      if (stillHead) this.popHead();
      this.streak = 0;
      this.nextAttempt = 0;
      this.notBefore = 0;
      this.dropLogged = false;
    } else if (refused(status)) {
      this.counters.failedFlushes++;
      L.str(E.BATCH_REJECTED); L.text(staticText(": the aggregator answered ")); L.num(status);
      L.text(staticText(" to batch seq ")); L.num(<i64>this.inflightSeq); L.text(staticText("; dropped"));
      L.emit(LOG_ERROR);
      if (stillHead) this.popHead();
    } else if (stillHead) {
      if (this.streak == 0) {
        L.str(E.FLUSH_FAILED); L.text(staticText(": batch seq ")); L.num(<i64>this.inflightSeq);
        if (status == 0) L.text(staticText(" reset or timed out"));
        else { L.text(staticText(" answered ")); L.num(status); }
        L.text(staticText("; will retry"));
        L.emit(LOG_WARN);
      }
      this.failed();
      if (retryAfterS > 0) this.notBefore = monoNow() + <u64>min(retryAfterS, RETRY_AFTER_CAP_S) * 1000000000;
    } else {
      this.counters.failedFlushes++;
    }
    if (this.final && (status < 200 || status >= 300)) return; // no retry on the way out
    this.pump();
  }

  /** A failed attempt of the head batch: count it, back off, or drop it when keeping none. */
  private failed(): void {
    this.counters.failedFlushes++;
    this.streak++;
    if (this.keep == 0) {
      this.popHead();
      this.counters.droppedBatches++;
    }
    const shift = min(this.streak - 1, 16);
    this.nextAttempt = this.tickNo + <u64>min(1 << shift, this.backoffCapTicks);
  }
}
