// Streams a render's chunks through gzip and hands each chunk back to the free list
// (chunk-writer.ts) once zlib has consumed it, so that a scrape reuses a few chunks instead of
// mapping fresh memory for every MiB. A chunk is recycled only from its write callback, which
// zlib calls after deflate took all of its input (node lib/zlib.js processCallback: "Finished
// with the chunk"); a failed or aborted stream keeps its chunks out of the free list.
import { createGzip } from "node:zlib";
import type { Gzip } from "node:zlib";
import { recycle } from "./chunk-writer.ts";
import { breathe } from "./breath.ts";

/** gzip level: 1 compresses a scrape several times over at a fraction of the default's CPU. */
export const GZIP_LEVEL = 1;

/** A gzip stream fed from `chunks` with backpressure; the caller sends it as the response body. */
export function gzipChunks(chunks: Iterator<Buffer>): Gzip {
  const gz = createGzip({ level: GZIP_LEVEL });
  void pump(chunks, gz);
  return gz;
}

async function pump(chunks: Iterator<Buffer>, gz: Gzip): Promise<void> {
  try {
    for (;;) {
      if (gz.destroyed) return;
      const { value, done } = chunks.next();
      if (done) break;
      if (value.length === 0) { await breathe(); continue; } // BREATH (breath.ts)
      const ok = gz.write(value, (err) => { if (!err) recycle(value); });
      // Waiting for 'drain' also keeps the chunks in flight to the one in zlib, and lets the
      // event loop run between chunks.
      if (!ok) await drained(gz);
    }
    gz.end();
  } catch (e) {
    gz.destroy(e as Error);
  } finally {
    chunks.return?.();
  }
}

/** Resolves on 'drain', or when the stream closes (aborted response) and will never drain. */
function drained(gz: Gzip): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { gz.off("drain", done); gz.off("close", done); resolve(); };
    gz.on("drain", done);
    gz.on("close", done);
  });
}
