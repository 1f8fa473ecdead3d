// Memory per stored label set, measured in a process of its own (started with --expose-gc) on
// the aggregator's store with an injected clock, so the figure does not depend on when slots
// roll over: n label sets each receive one point, then a batch in the next window slot folds
// their slot into the coarse rings, then two protobuf /metrics renders (the route's own render
// function), every series changed in between, leave each series' encoded fields cached as
// every scrape keeps them; then label sets active in every slot for an hour, with the windows
// kept and without them (prometheus_url). Counts V8's heap and the typed arrays' backing stores
// (process.memoryUsage().arrayBuffers: bucket counts and encodings live there). Sends the parent
// { fresh, unscraped, scraped, activeKept, activeProm } in bytes per label set, and windowEntries.
import { AggregatorState } from "../../aggregator/src/store/state.ts";
import { makeConfig } from "../../aggregator/src/config.ts";
import { readBatch } from "../../aggregator/src/wire/read-batch.ts";
import { renderTrafficProtobuf } from "../../aggregator/src/metrics/traffic-protobuf.ts";
import { BENCH_LIMITS } from "./bench-limits.ts";
import { batchValue, encodeBatch } from "../../test/support/batch-builder.ts";
import { seriesAt } from "../aggregator.ts";

const n = Number(process.env.MESHLAT_BENCH_SERIES ?? 50_000);
const per = 1000;
const config = makeConfig({ max_series: n + 10, max_vms: 1_000_000, max_batch_series: per, ...BENCH_LIMITS });
const limits = { maxSeries: per, maxStrings: config.max_batch_strings, maxBounds: config.max_bounds, maxLabelLength: config.max_label_length, maxTimingBuckets: config.max_timing_buckets };
let now = Date.UTC(2026, 0, 1, 12, 0, 1);
const state = new AggregatorState(config, () => now);
const batch = (vm: number, from: number, count: number) => encodeBatch(batchValue({ v: 2, vm: vm.toString(16).padStart(16, "0"), seq: 1, window: [now - 1000, now], series: Array.from({ length: count }, (_, k) => seriesAt(from + k)) }));
const bodies = Array.from({ length: Math.ceil(n / per) }, (_, k) => batch(k + 1, k * per, Math.min(per, n - k * per)));

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("memory-child: run with --expose-gc");
const used = () => { gc(); gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };

const m0 = used();
for (const b of bodies) state.ingest(readBatch(b, limits));
const m1 = used();
now += config.window_slot_s * 1000; // the next slot: its first batch folds the previous one
state.ingest(readBatch(batch(0xffff, 0, 1), limits));
const m2 = used();
// The chunks are dropped, not recycled: the render's free list is per process, not per series.
const scrape = () => {
  let bytes = 0;
  for (const chunk of renderTrafficProtobuf(state.store, { nowMs: now, spanMs: config.exemplar_span_s * 1000 })) bytes += chunk.length;
  if (bytes === 0) throw new Error("memory-child: empty render");
};
scrape();
// Every label set is encoded again, as after a point merged into each between two scrapes of a
// busy fleet (the version a merge bumps; a merge itself would also add window entries, which
// the figures above count): the new encodings replace the first ones, as at every scrape after.
for (const s of state.store.series.values()) s.version++;
scrape();
const m3 = used();

/**
 * Memory per label set that sent a point in every window slot for an hour — the rings full, as
 * a busy fleet's label sets keep them — with the windows kept (no prometheus_url), or not
 * (prometheus_url set: the views come from Prometheus), before any scrape.
 */
function activeHour(prometheusUrl: string, count: number): number {
  const cfg = makeConfig({ max_series: count + 10, max_vms: 1_000_000, max_batch_series: count, prometheus_url: prometheusUrl, ...BENCH_LIMITS });
  let t = now + 86_400_000;
  const base = used();
  const st = new AggregatorState(cfg, () => t);
  const lim = { ...limits, maxSeries: count };
  const series = Array.from({ length: count }, (_, k) => seriesAt(k));
  for (let r = 0, rounds = 3_600 / cfg.window_slot_s + 1; r <= rounds; r++) {
    st.ingest(readBatch(encodeBatch(batchValue({ v: 2, vm: "00000000000000ac", seq: r + 1, window: [t - 1000, t], series })), lim));
    t += cfg.window_slot_s * 1000;
  }
  return (used() - base) / count;
}
const ACTIVE = 1000;
const activeKept = activeHour("", ACTIVE);
const activeProm = activeHour("http://prometheus.invalid:9090", ACTIVE);

process.send!({ fresh: (m1 - m0) / n, unscraped: (m2 - m0) / n, scraped: (m3 - m0) / n, windowEntries: state.windows.size, series: state.store.size, activeKept, activeProm });
