// Configuration: one strict schema with defaults and units, validated once at the boundary
// (flags > environment > defaults) and frozen. The running code only sees a valid Config.
import { AggError } from "./errors.ts";

type IntField = { kind: "int"; default: number; min: number; max: number; unit: string; help: string };
type StrField = { kind: "string"; default: string; pattern?: RegExp; oneOf?: readonly string[]; unit?: string; help: string };
type Field = IntField | StrField;

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const SCHEMA = {
  port: { kind: "int", default: 9464, min: 0, max: 65535, unit: "TCP port (0 = ephemeral)", help: "listen port" },
  host: { kind: "string", default: "0.0.0.0", pattern: /^[0-9A-Za-z.:[\]-]{1,253}$/, help: "bind address" },
  log_level: { kind: "string", default: "info", oneOf: LOG_LEVELS, help: "pino log level" },
  body_limit_bytes: { kind: "int", default: 8 * 1024 * 1024, min: 1024, max: 256 * 1024 * 1024, unit: "bytes", help: "largest accepted batch body (413 above)" },
  max_inflight_bytes: { kind: "int", default: 64 * 1024 * 1024, min: 1024, max: 4 * 1024 * 1024 * 1024, unit: "bytes", help: "body bytes received and not yet merged; 429 while above" },
  caller_identity: { kind: "string", default: "namespace", oneOf: ["namespace", "off"], help: "namespace: a batch is accepted only when the caller's SPIFFE ID (x-forwarded-client-cert, last element) is in the batch's proxy.namespace, else 403; off: no check, for runs outside a mesh (the demo, tests), logged at startup" },
  caller_identity_trusted_by: { kind: "string", default: "", pattern: /^(spiffe:\/\/[!-~]{1,500})?$/, help: "when set, the last x-forwarded-client-cert element must carry By=<this> (the aggregator's own SPIFFE ID, which its sidecar writes)" },
  max_concurrent_ingest: { kind: "int", default: 16, min: 1, max: 10000, unit: "requests", help: "ingest requests whose body is being received at once; 429 above (keeps /metrics and /healthz responsive under a flood; received bodies wait for their merge within max_inflight_bytes)" },
  shed_ingest_busy_percent: { kind: "int", default: 50, min: 0, max: 100, unit: "percent of the last second (0 = off)", help: "shed ingest (429) while decoding and merging batches took more than this share of the last second, so /healthz and /metrics are answered in time" },
  shed_retry_after_s: { kind: "int", default: 1, min: 1, max: 3600, unit: "seconds", help: "Retry-After sent with every 429" },
  body_timeout_ms: { kind: "int", default: 10000, min: 100, max: 600000, unit: "milliseconds", help: "a batch body not received within this after its headers is 408 and its connection closed (slow senders cannot hold ingest)" },
  drain_period_ms: { kind: "int", default: 15000, min: 0, max: 600000, unit: "milliseconds", help: "after SIGTERM/SIGINT: ingest answers 503 and /metrics is still served for this long, then the server closes" },
  shed_event_loop_delay_ms: { kind: "int", default: 1000, min: 0, max: 60000, unit: "milliseconds (0 = off)", help: "shed ingest (429) while the event loop delay (p99, last second) exceeds this" },
  shed_heap_percent: { kind: "int", default: 85, min: 0, max: 100, unit: "percent of the V8 heap limit (0 = off)", help: "shed ingest (429) while the used heap exceeds this share of its limit" },
  // Classic-bucket text grows with label sets x timings x buckets: the default keeps a text scrape
  // within Prometheus' default scrape_timeout (10 s; docs/aggregator.md, Capacity).
  max_series: { kind: "int", default: 10000, min: 1, max: 2_000_000, unit: "label sets", help: "stored series cap; new label sets beyond it fold into the overflow series (each label set is held in memory — bench/aggregator.ts measures its bytes — and scraped as 6 Prometheus series with native histograms: its request counter and 5 timing histograms; as classic-bucket text, a line per bucket plus _sum and _count per timing)" },
  // statsd_exporter's `ttl`: a label set that stopped being reported must not stay in /metrics forever.
  series_ttl_s: { kind: "int", default: 600, min: 10, max: 7 * 86400, unit: "seconds", help: "a series (label set) not updated for this long leaves /metrics, counted in meshlat_aggregator_series_expired_total (restarts from 0 if it returns)" },
  window_slot_s: { kind: "int", default: 10, min: 1, max: 60, unit: "seconds", help: "granularity of the sliding windows behind the APIs (1m/5m/15m/1h)" },
  // {trace_id} is replaced by the trace id in hex: Jaeger http://jaeger:16686/trace/{trace_id},
  // Zipkin http://zipkin:9411/zipkin/traces/{trace_id}, Tempo through Grafana's explore URL.
  trace_url_template: { kind: "string", default: "", pattern: /^$|^https?:\/\/[^\s]*\{trace_id\}[^\s]*$/, unit: "URL with {trace_id}", help: "link from a slow request's trace id to the tracing backend (latency API trace_url, the page); empty: no links" },
  exemplar_span_s: { kind: "int", default: 60, min: 1, max: 3600, unit: "seconds", help: "a series' exemplar (its slowest traced request) shown on /metrics and in the latency API gives way to any newer one after this" },
  max_clock_skew_s: { kind: "int", default: 120, min: 0, max: 86400, unit: "seconds", help: "a batch window end within this of receive time places its deltas; else receive time is used" },
  dedupe_window: { kind: "int", default: 256, min: 1, max: 65536, unit: "sequence numbers per VM", help: "recent seqs remembered per VM for de-duplication" },
  max_vms_per_namespace: { kind: "int", default: 5000, min: 1, max: 1_000_000, unit: "VMs", help: "VMs one reporting namespace may hold; past it that namespace's least recently seen VM is evicted (another namespace's churn cannot evict yours)" },
  max_filter_workloads: { kind: "int", default: 2000, min: 1, max: 1_000_000, unit: "label pairs", help: "workload/namespace pairs of the meshlat_filter_* families; VMs of further pairs are shown as overflow (and counted)" },
  max_series_per_namespace: { kind: "int", default: 2500, min: 1, max: 2_000_000, unit: "label sets", help: "series one reporting namespace may create; its further new label sets fold into overflow (one bad sender cannot take max_series)" },
  max_exposition_bytes: { kind: "int", default: 512 * 1024 * 1024, min: 1024 * 1024, max: 64 * 1024 * 1024 * 1024, unit: "bytes", help: "budget of /metrics text (upper estimate) over all stored series; new label sets past it fold into overflow" },
  max_vms: { kind: "int", default: 20000, min: 1, max: 1_000_000, unit: "VMs", help: "VMs tracked for de-duplication and filter counters (least recently seen evicted)" },
  max_batch_series: { kind: "int", default: 70000, min: 1, max: 1_000_000, unit: "series per batch", help: "largest series array accepted in one batch" },
  max_batch_strings: { kind: "int", default: 700000, min: 10, max: 10_000_000, unit: "strings per batch", help: "largest string table accepted in one batch" },
  max_bounds: { kind: "int", default: 128, min: 1, max: 1024, unit: "bucket bounds", help: "largest bounds_us array accepted" },
  max_timing_buckets: { kind: "int", default: 160, min: 1, max: 1024, unit: "buckets", help: "most exponential-histogram buckets one v2 timing may carry" },
  histogram_buckets: { kind: "int", default: 160, min: 64, max: 1024, unit: "buckets per histogram", help: "bucket cap of a stored native histogram: past it the scale is lowered (resolution halves) instead of growing" },
  max_label_length: { kind: "int", default: 256, min: 16, max: 65536, unit: "UTF-16 code units", help: "longest label value (or proxy identity string) accepted" },
  min_samples: { kind: "int", default: 20, min: 1, max: 1_000_000, unit: "requests", help: "fewest requests in the window for a verdict (else insufficient_data)" },
  // With several replicas each holds only the workloads pinned to it: the views must sum them.
  prometheus_url: { kind: "string", default: "", pattern: /^(https?:\/\/[^\s]+)?$/, unit: "URL (empty = off)", help: "Prometheus that scrapes every replica: /api/v1/latency, /graph and /overview are answered from it (summed across replicas) instead of the local store, whose sliding windows are then not kept" },
  // The step of the views' per-series sums after a counter drop (query/promql.ts).
  prometheus_step_s: { kind: "int", default: 15, min: 1, max: 300, unit: "seconds", help: "with prometheus_url: the scrape interval of the job that scrapes the replicas (the ServiceMonitor's 15s; not below a third of it); a replica whose counters dropped without a restart (a label set back after series_ttl_s) is summed at this step, and the native histograms of a replica that restarted or lost a series are looked up at it" },
  prometheus_timeout_ms: { kind: "int", default: 10000, min: 100, max: 600000, unit: "milliseconds", help: "with prometheus_url: a view's Prometheus call (query or label lookup) not answered within this fails the view with 502 AGG_ERR_PROMETHEUS" },
  shutdown_timeout_ms: { kind: "int", default: 10000, min: 0, max: 600000, unit: "milliseconds", help: "grace period for in-flight requests on SIGTERM/SIGINT" },
} as const satisfies Record<string, Field>;

type Schema = typeof SCHEMA;
export type ConfigKey = keyof Schema;
export type Config = Readonly<{ [K in ConfigKey]: Schema[K]["kind"] extends "int" ? number : string }>;

/** `max_series` → `--max-series` / `MESHLAT_MAX_SERIES`. */
export const flagName = (k: string): string => "--" + k.replace(/_/g, "-");
export const envName = (k: string): string => "MESHLAT_" + k.toUpperCase();

function coerce(key: string, field: Field, raw: unknown, origin: string): number | string {
  if (field.kind === "int") {
    const n = typeof raw === "number" ? raw : typeof raw === "string" && /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
    if (!Number.isSafeInteger(n)) throw new AggError("AGG_ERR_CONFIG", `${key} (${origin}): expected an integer (${field.unit}), got ${JSON.stringify(raw)}`, key);
    if (n < field.min || n > field.max) throw new AggError("AGG_ERR_CONFIG", `${key} (${origin}): ${n} is out of range ${field.min}..${field.max} (${field.unit})`, key);
    return n;
  }
  if (typeof raw !== "string") throw new AggError("AGG_ERR_CONFIG", `${key} (${origin}): expected a string`, key);
  if (field.oneOf && !field.oneOf.includes(raw)) throw new AggError("AGG_ERR_CONFIG", `${key} (${origin}): ${JSON.stringify(raw)} is not one of ${field.oneOf.join(", ")}`, key);
  if (field.pattern && !field.pattern.test(raw)) throw new AggError("AGG_ERR_CONFIG", `${key} (${origin}): ${JSON.stringify(raw)} is not a valid value`, key);
  return raw;
}

/** Build a frozen config from defaults, then overrides (already-typed values, e.g. from tests). */
export function makeConfig(overrides: Partial<Record<ConfigKey, number | string>> = {}): Config {
  const out: Record<string, number | string> = {};
  for (const [k, f] of Object.entries(SCHEMA) as [ConfigKey, Field][]) out[k] = f.default;
  for (const [k, v] of Object.entries(overrides)) {
    const f = (SCHEMA as Record<string, Field>)[k];
    if (!f) throw new AggError("AGG_ERR_CONFIG", `unknown option ${k}`, k);
    if (v !== undefined) out[k] = coerce(k, f, v, "option");
  }
  return Object.freeze(out) as Config;
}

/** Parse `--key value` / `--key=value` flags and MESHLAT_* environment variables (flags win). */
export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Config {
  const byFlag = new Map<string, ConfigKey>();
  for (const k of Object.keys(SCHEMA) as ConfigKey[]) byFlag.set(flagName(k), k);
  const values: Partial<Record<ConfigKey, number | string>> = {};
  for (const k of Object.keys(SCHEMA) as ConfigKey[]) {
    const e = env[envName(k)];
    if (e !== undefined && e !== "") values[k] = coerce(k, SCHEMA[k], e, envName(k));
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const key = byFlag.get(name);
    if (!key) throw new AggError("AGG_ERR_CONFIG", `unknown flag ${name} (known: ${[...byFlag.keys()].join(" ")})`, name);
    let raw: string | undefined;
    if (eq > 0) raw = arg.slice(eq + 1);
    else raw = argv[++i];
    if (raw === undefined) throw new AggError("AGG_ERR_CONFIG", `${name} needs a value`, key);
    values[key] = coerce(key, SCHEMA[key], raw, name);
  }
  return makeConfig(values);
}
