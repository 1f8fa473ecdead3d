// A small keep-alive HTTP client for the aggregator benchmarks (node:http, no dependencies):
// a fixed number of concurrent connections, each posting the next body as soon as its previous
// response is complete.
import { Agent, request } from "node:http";

export interface LoadResult {
  sent: number;
  byStatus: Record<number, number>;
  errors: number;
  elapsedMs: number;
}

export function post(agent: Agent, port: number, path: string, body: Uint8Array, contentType: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST", agent,
      headers: { "content-type": contentType, "content-length": body.length } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

export function get(agent: Agent, port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; bytes: number; ms: number }> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET", agent, headers }, (res) => {
      let bytes = 0;
      res.on("data", (c: Buffer) => { bytes += c.length; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Posts `next()` bodies on `concurrency` connections until `durationMs` passed or next() returns undefined. */
export async function load(port: number, next: () => Uint8Array | undefined, opts: { concurrency: number; durationMs: number; path?: string; contentType?: string }): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const res: LoadResult = { sent: 0, byStatus: {}, errors: 0, elapsedMs: 0 };
  const t0 = performance.now();
  const deadline = t0 + opts.durationMs;
  const worker = async () => {
    for (;;) {
      if (performance.now() >= deadline) return;
      const body = next();
      if (!body) return;
      try {
        const status = await post(agent, port, opts.path ?? "/v1/batches", body, opts.contentType ?? "application/msgpack");
        res.byStatus[status] = (res.byStatus[status] ?? 0) + 1;
      } catch {
        res.errors++;
      }
      res.sent++;
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  res.elapsedMs = performance.now() - t0;
  return res;
}
