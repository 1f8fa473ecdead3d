import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseResponse, rawLoad } from "./lib/raw-load.ts";

test("parseResponse: waits for the whole head and body; reads status and content-length in any case", () => {
  const r204 = Buffer.from("HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n");
  assert.equal(parseResponse(r204.subarray(0, 20)), null);
  assert.deepEqual(parseResponse(r204), { status: 204, length: r204.length });
  const r429 = Buffer.from('HTTP/1.1 429 Too Many Requests\r\nContent-Length: 7\r\n\r\n{"a":1}HTTP/1.1 204');
  assert.equal(parseResponse(r429.subarray(0, r429.length - 20)), null, "body not complete");
  assert.deepEqual(parseResponse(r429), { status: 429, length: r429.length - 12 });
  const chunked = Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  assert.equal(parseResponse(chunked.subarray(0, chunked.length - 3)), null, "last chunk not complete");
  assert.deepEqual(parseResponse(chunked), { status: 200, length: chunked.length });
  assert.throws(() => parseResponse(Buffer.from("SSH-2.0\r\n\r\n")), /not an HTTP response/);
});

test("rawLoad posts every body once over keep-alive connections and counts the answers by status", async () => {
  const got: string[] = [];
  let sockets = 0;
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      const body = Buffer.concat(parts).toString();
      got.push(`${req.method} ${req.url} ${req.headers["content-type"]} ${body}`);
      if (body.endsWith("7")) res.writeHead(429, { "content-type": "application/json" }).end('{"code":"AGG_ERR_SHED"}');
      else res.writeHead(204).end();
    });
  });
  server.on("connection", () => { sockets++; });
  server.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  try {
    let k = 0;
    const r = await rawLoad((server.address() as AddressInfo).port, () => (k < 20 ? Buffer.from(`batch-${k++}`) : undefined), { concurrency: 3, durationMs: 10_000, path: "/v1/batches" });
    assert.equal(r.sent, 20);
    assert.deepEqual(r.byStatus, { 204: 18, 429: 2 });
    assert.equal(r.errors, 0);
    assert.equal(sockets, 3, "one connection per worker, kept alive");
    assert.deepEqual(got.map((g) => g.split(" ").slice(0, 3).join(" ")), Array(20).fill("POST /v1/batches application/msgpack"));
    assert.deepEqual(got.map((g) => g.split(" ")[3]).sort(), Array.from({ length: 20 }, (_, i) => `batch-${i}`).sort());
  } finally {
    server.close();
  }
});
