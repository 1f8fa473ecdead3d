// Body bytes → validated Batch: the single-pass reader for v2 batches of the filter's shape
// (read-v2.ts), else the general path (decode.ts, then validate.ts), which also words every
// error. Both accept the same batches and give equal results.
import { decodeMsgpack } from "./decode.ts";
import { readV2 } from "./read-v2.ts";
import { validateBatch } from "./validate.ts";
import type { Batch, WireLimits } from "./types.ts";

export function readBatch(body: Uint8Array, limits: WireLimits): Batch {
  return readV2(body, limits) ?? validateBatch(decodeMsgpack(body), limits);
}
