// A lean keep-alive HTTP/1.1 POST client for the ingest benchmark: each of `concurrency` sockets
// writes the next request (head and body in one corked write) as soon as the previous response
// is complete, and reads responses with a minimal parser (status line, content-length or chunks). The
// node:http client costs about as much CPU per request as the server's whole no-op route
// (~50 µs here), and on a 2-core machine client and server compete for the cores, which moved
// the server's own CPU per batch by 2x from round to round; a lean client leaves the aggregator
// closer to how it runs in a fleet, its senders on other machines. 127.0.0.1 only.
import net from "node:net";
import type { LoadResult } from "./http-load.ts";

const HEAD_END = Buffer.from("\r\n\r\n", "latin1");
const LAST_CHUNK = Buffer.from("\r\n0\r\n\r\n", "latin1");

/** The status and total length (head + body) of the response at the start of `buf`, or null while incomplete. */
export function parseResponse(buf: Buffer): { status: number; length: number } | null {
  const end = buf.indexOf(HEAD_END);
  if (end < 0) return null;
  const head = buf.toString("latin1", 0, end);
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!m) throw new Error(`raw-load: not an HTTP response: ${JSON.stringify(head.slice(0, 40))}`);
  const bodyAt = end + HEAD_END.length;
  if (/\r\ntransfer-encoding:[ \t]*chunked/i.test(head)) {
    // Whole once the last (empty) chunk has come; chunk extensions and trailers are not expected.
    const last = buf.indexOf(LAST_CHUNK, bodyAt - 2);
    return last < 0 ? null : { status: Number(m[1]), length: last + LAST_CHUNK.length };
  }
  const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
  const length = bodyAt + (cl ? Number(cl[1]) : 0);
  return buf.length >= length ? { status: Number(m[1]), length } : null;
}

/** Posts `next()` bodies on `concurrency` connections until `durationMs` passed or next() returns undefined. */
export async function rawLoad(port: number, next: () => Uint8Array | undefined, opts: { concurrency: number; durationMs: number; path?: string; contentType?: string }): Promise<LoadResult> {
  const res: LoadResult = { sent: 0, byStatus: {}, errors: 0, elapsedMs: 0 };
  const prefix = `POST ${opts.path ?? "/v1/batches"} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: ${opts.contentType ?? "application/msgpack"}\r\ncontent-length: `;
  const heads = new Map<number, Buffer>();
  const headFor = (n: number) => {
    let h = heads.get(n);
    if (!h) heads.set(n, (h = Buffer.from(`${prefix}${n}\r\n\r\n`, "latin1")));
    return h;
  };
  const t0 = performance.now();
  const deadline = t0 + opts.durationMs;
  const worker = async () => {
    const sock = net.connect(port, "127.0.0.1");
    sock.setNoDelay(true);
    await new Promise<void>((resolve, reject) => { sock.once("connect", resolve); sock.once("error", reject); });
    let pending: Buffer = Buffer.alloc(0);
    let answer: ((status: number) => void) | null = null;
    let fail: ((e: Error) => void) | null = null;
    sock.on("data", (d: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, d]) : d;
      const r = parseResponse(pending);
      if (!r) return;
      pending = pending.subarray(r.length);
      const a = answer;
      answer = fail = null;
      a?.(r.status);
    });
    const lost = (e?: Error) => { const f = fail; answer = fail = null; f?.(e ?? new Error("raw-load: connection closed before the response")); };
    sock.on("error", lost);
    sock.on("close", () => lost());
    try {
      for (;;) {
        if (performance.now() >= deadline) return;
        const body = next();
        if (!body) return;
        const status = await new Promise<number>((resolve, reject) => {
          answer = resolve;
          fail = reject;
          sock.cork();
          sock.write(headFor(body.length));
          sock.write(body);
          sock.uncork();
        });
        res.byStatus[status] = (res.byStatus[status] ?? 0) + 1;
        res.sent++;
      }
    } catch {
      res.errors++;
      res.sent++;
    } finally {
      sock.destroy();
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  res.elapsedMs = performance.now() - t0;
  return res;
}
