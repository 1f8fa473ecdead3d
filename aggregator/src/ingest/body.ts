// Reads an admitted batch body into one Buffer within body_timeout_ms of its headers. A sender
// that trickles (or stalls) past the deadline gets 408 and its connection closed, so it holds
// neither an ingest slot nor its bytes.
import type { IncomingMessage } from "node:http";
import { AggError } from "../errors.ts";

export function readBody(payload: IncomingMessage, timeoutMs: number, onBytes: (n: number) => void, done: (err: Error | null, body?: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const settle = (err: Error | null, body?: Buffer) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    payload.removeListener("data", onData);
    if (err) payload.pause();
    done(err, body);
  };
  const timer = setTimeout(() => settle(new AggError("AGG_ERR_TIMEOUT", `body not received within body_timeout_ms=${timeoutMs}`, "", { closeConnection: true })), timeoutMs);
  const onData = (c: Buffer) => { chunks.push(c); size += c.length; onBytes(c.length); };
  payload.on("data", onData);
  // A body that arrived in one chunk (a batch usually does) is that chunk: a fresh buffer of
  // the socket's read, not reused, so it is kept as is instead of copied.
  payload.once("end", () => settle(null, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
  payload.once("error", (e) => settle(e));
}
