// Body bytes → validated batch: the single-pass reader for v2 batches of the filter's shape
// (read-v2.ts, into the reused FlatBatch), else the general path (decode.ts, then validate.ts),
// which also words every error. Both accept the same batches, and merging either has the same
// effect (test/read-v2.test.ts).
import { decodeMsgpack } from "./decode.ts";
import { readV2 } from "./read-v2.ts";
import { validateBatch } from "./validate.ts";
import type { FlatBatch } from "./flat-batch.ts";
import type { Batch, WireLimits } from "./types.ts";

export function readBatch(body: Uint8Array, limits: WireLimits): Batch | FlatBatch {
  return readV2(body, limits) ?? validateBatch(decodeMsgpack(body), limits);
}
