// Which ingest requests are let in, decided from the headers before the body is read: draining,
// a content-length (required, within body_limit_bytes), no content-encoding, and the load budget
// (batches in flight, body bytes received and not yet merged, the share of the last second spent
// merging, event-loop and heap pressure). Refusals that a retry can cure carry Retry-After.
import type { IncomingHttpHeaders } from "node:http";
import { AggError } from "../errors.ts";
import type { Config } from "../config.ts";

export interface AdmissionOptions {
  readonly config: Config;
  /** Why ingest should shed now (event loop, heap), or null. */
  readonly pressure: () => string | null;
  readonly draining: () => boolean;
  /** Monotonic milliseconds (tests inject one). */
  readonly clock?: () => number;
}

/**
 * A ticket held by an admitted request until its response or abort: the body bytes it has
 * received, and whether it still counts against max_concurrent_ingest (until its body is
 * complete: then its work waits for the event loop's turn, its bytes still counted).
 */
export interface Ticket { bytes: number; receiving: boolean }

/** Ingest handler time is summed over the last second in slots of this size. */
const SLOT_MS = 100;
/**
 * Received batches that may wait for their merge, per max_concurrent_ingest slot: a fleet's
 * flushes arrive in bursts that one turn absorbs, while a flood of large batches must not queue
 * seconds of merging behind /healthz and /metrics.
 */
const WAITING_PER_SLOT = 4;
const SLOTS = 10;

// The body of a refused request is never read: its connection closes after the answer instead
// of reading and discarding up to body_limit_bytes to reach the next request.
const unread = { closeConnection: true } as const;

export class Admission {
  private inflightBytes = 0;
  private inflightBatches = 0;
  /** Admitted requests whose body is complete and whose work waits for its turn (bodyDone). */
  private waiting = 0;
  /** Handler milliseconds per SLOT_MS slot (ring), and the slot number each holds. */
  private readonly busy = new Float64Array(SLOTS);
  private readonly busySlot = new Float64Array(SLOTS).fill(-1);
  private readonly clock: () => number;
  constructor(private readonly opts: AdmissionOptions) {
    this.clock = opts.clock ?? (() => performance.now());
  }

  /** Records `ms` of synchronous ingest work (decode, validate, merge) just done. */
  worked(ms: number): void {
    const slot = Math.floor(this.clock() / SLOT_MS);
    const i = slot % SLOTS;
    if (this.busySlot[i] !== slot) { this.busySlot[i] = slot; this.busy[i] = 0; }
    this.busy[i] += ms;
  }

  /** Share (percent) of the last second the event loop spent in ingest handlers. */
  busyPercent(): number {
    const now = Math.floor(this.clock() / SLOT_MS);
    let ms = 0;
    for (let i = 0; i < SLOTS; i++) if (this.busySlot[i]! > now - SLOTS) ms += this.busy[i]!;
    return (100 * ms) / (SLOTS * SLOT_MS);
  }

  /** Counts body bytes as they arrive: what is buffered, not what was declared, is the memory held. */
  received(t: Ticket, n: number): void {
    t.bytes += n;
    this.inflightBytes += n;
  }

  get batches(): number { return this.inflightBatches; }

  /** Admits a request or throws the AggError it is answered with. */
  admit(headers: IncomingHttpHeaders): Ticket {
    const cfg = this.opts.config;
    if (this.opts.draining()) throw new AggError("AGG_ERR_SHUTTING_DOWN", "draining for shutdown: send to another replica", "", unread);
    const declared = headers["content-length"];
    // Node refuses a request with both content-length and transfer-encoding, so without a
    // content-length the body is chunked: its size is unknown until it has been buffered.
    if (declared === undefined) throw new AggError("AGG_ERR_LENGTH_REQUIRED", "content-length is required (chunked bodies are not accepted)", "", unread);
    const len = Number(declared);
    // A body that can never fit is 413 (drop), not 429 (retry forever).
    if (len > cfg.body_limit_bytes) throw new AggError("AGG_ERR_TOO_LARGE", `body of ${len} bytes exceeds body_limit_bytes=${cfg.body_limit_bytes}`, "", unread);
    const enc = headers["content-encoding"];
    if (enc !== undefined && enc.trim().toLowerCase() !== "identity") throw new AggError("AGG_ERR_CONTENT_TYPE", "content-encoding is not supported: send the MessagePack body as is", "", unread);
    const retry = { retryAfterS: cfg.shed_retry_after_s, ...unread };
    // A lone request is always admitted (it is within body_limit_bytes): with the limits set
    // below one body a 429 for it would be retried forever.
    if (this.inflightBatches > 0 || this.waiting > 0) {
      if (this.inflightBatches >= cfg.max_concurrent_ingest) throw new AggError("AGG_ERR_SHED", `${this.inflightBatches} batches in flight, max_concurrent_ingest=${cfg.max_concurrent_ingest}`, "", retry);
      if (this.waiting >= WAITING_PER_SLOT * cfg.max_concurrent_ingest) throw new AggError("AGG_ERR_SHED", `${this.waiting} received batches waiting for their merge, ${WAITING_PER_SLOT} × max_concurrent_ingest=${cfg.max_concurrent_ingest}`, "", retry);
      if (this.inflightBytes > cfg.max_inflight_bytes) throw new AggError("AGG_ERR_SHED", `ingest bytes received and not yet merged exceed max_inflight_bytes=${cfg.max_inflight_bytes}`, "", retry);
    }
    // Requests queue in front of the event loop where no hook sees them, and each is handled
    // alone: when ingest work fills the loop, /healthz and /metrics wait behind the queue.
    // Refusing is cheap (headers only), and this passes within a second, so a lone request is
    // refused too.
    const busy = this.busyPercent();
    if (cfg.shed_ingest_busy_percent > 0 && busy > cfg.shed_ingest_busy_percent) throw new AggError("AGG_ERR_SHED", `ingest used ${busy.toFixed(0)}% of the last second, above shed_ingest_busy_percent=${cfg.shed_ingest_busy_percent}`, "", retry);
    const why = this.opts.pressure();
    if (why) throw new AggError("AGG_ERR_SHED", why, "", retry);
    this.inflightBatches++;
    return { bytes: 0, receiving: true };
  }

  /**
   * The request's body is complete and its work queued for this turn (merge-turn.ts): it no
   * longer counts as a batch in flight — the bodies that complete in one turn of the event loop
   * are merged together, and counting them would refuse a burst of senders that the turn
   * absorbs — but as one waiting (at most WAITING_PER_SLOT × max_concurrent_ingest), and its
   * bytes count until release().
   */
  bodyDone(t: Ticket): void {
    if (!t.receiving) return;
    t.receiving = false;
    this.inflightBatches--;
    this.waiting++;
  }

  release(t: Ticket): void {
    this.inflightBytes -= t.bytes;
    if (t.receiving) this.inflightBatches--;
    else this.waiting--;
  }
}
