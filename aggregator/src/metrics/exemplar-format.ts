// Exemplars in the exposition formats, pure. OpenMetrics 1.0 (the "Exemplars" section): a
// histogram bucket line may end in ` # {trace_id="…"} value timestamp`, timestamp in Unix
// seconds, at most 128 UTF-8 characters of label names and values; the classic text format has
// no exemplars. Protobuf (client_model metrics.proto): an Exemplar on a Bucket, which Prometheus'
// protobuf parser also reads for native histograms (model/textparse/protobufparse.go).
import type { Exemplar } from "../store/exemplars.ts";
import { CLASSIC_LE_MS } from "../store/exp-histogram.ts";

/** Index of the classic bucket (CLASSIC_LE_MS, then +Inf) whose range holds `valueMs`. */
export function bucketOf(valueMs: number): number {
  let lo = 0, hi = CLASSIC_LE_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (valueMs <= CLASSIC_LE_MS[mid]!) hi = mid; else lo = mid + 1;
  }
  return lo;
}

/** ` # {trace_id="…"} <value> <timestamp>`: what follows a bucket's count in OpenMetrics. */
export function openMetricsExemplar(e: Exemplar): string {
  return ` # {trace_id="${e.traceId}"} ${e.valueMs} ${(e.timeMs / 1000).toFixed(3)}`;
}

export interface ProtoExemplar {
  label: { name: string; value: string }[];
  value: number;
  timestamp: { seconds: number; nanos: number };
}

/** client_model Exemplar message fields. */
export function protoExemplar(e: Exemplar): ProtoExemplar {
  const seconds = Math.floor(e.timeMs / 1000);
  return { label: [{ name: "trace_id", value: e.traceId }], value: e.valueMs, timestamp: { seconds, nanos: Math.round((e.timeMs - seconds * 1000) * 1e6) } };
}
