// Which ingest requests are let in, decided from the headers before the body is read: draining,
// a content-length (required, within body_limit_bytes), no content-encoding, and the load budget
// (batches and bytes in flight, event-loop and heap pressure). Refusals that a retry can cure
// carry Retry-After.
import type { IncomingHttpHeaders } from "node:http";
import { AggError } from "../errors.ts";
import type { Config } from "../config.ts";

export interface AdmissionOptions {
  readonly config: Config;
  /** Why ingest should shed now (event loop, heap), or null. */
  readonly pressure: () => string | null;
  readonly draining: () => boolean;
}

/** A ticket held by an admitted request until its response or abort. */
export interface Ticket { readonly bytes: number }

// The body of a refused request is never read: its connection closes after the answer instead
// of reading and discarding up to body_limit_bytes to reach the next request.
const unread = { closeConnection: true } as const;

export class Admission {
  private inflightBytes = 0;
  private inflightBatches = 0;
  constructor(private readonly opts: AdmissionOptions) {}

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
    if (this.inflightBatches > 0) {
      if (this.inflightBatches >= cfg.max_concurrent_ingest) throw new AggError("AGG_ERR_SHED", `${this.inflightBatches} batches in flight, max_concurrent_ingest=${cfg.max_concurrent_ingest}`, "", retry);
      if (this.inflightBytes + len > cfg.max_inflight_bytes) throw new AggError("AGG_ERR_SHED", `ingest bytes in flight would exceed max_inflight_bytes=${cfg.max_inflight_bytes}`, "", retry);
    }
    const why = this.opts.pressure();
    if (why) throw new AggError("AGG_ERR_SHED", why, "", retry);
    this.inflightBytes += len;
    this.inflightBatches++;
    return { bytes: len };
  }

  release(t: Ticket): void {
    this.inflightBytes -= t.bytes;
    this.inflightBatches--;
  }
}
