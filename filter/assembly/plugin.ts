// One configured root context: its validated config and identity, the series table the
// requests of its streams fold into, and the window / flush cycle that turns the table into
// batches for the outbox.
import { proxy_get_current_time_nanoseconds, proxy_set_tick_period_milliseconds } from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { Bytes, monoNow, random64, LOG_INFO, LOG_WARN } from "./abi";
import {
  Config, F_AGGREGATOR_AUTHORITY, F_FLUSH_INTERVAL_MS, F_MAX_SERIES, F_REGION_DEFAULT, F_APP_TIMING_METRIC,
  F_EXEMPLARS_SAMPLED_ONLY,
} from "./config";
import { BatchEncoder, Counters } from "./encode";
import * as E from "./errors";
import { Exemplars } from "./exemplar";
import { Identity, readIdentity } from "./identity";
import { InternTable } from "./intern";
import * as L from "./log-line";
import { Writer } from "./msgpack";
import { Outbox } from "./outbox";
import { LabelResolver } from "./resolve";
import { SeriesTable } from "./series";
import * as S from "./slots";
import { observeTimings } from "./timing";
import { readRequestHeaders, H_TIER, H_TRACE } from "./request-headers";
import { Slice, SLICE_BYTES } from "./slice";

const WALL_OUT = memory.data(8, 8);
const TIER = changetype<Slice>(memory.data(SLICE_BYTES, 8));
/** Without trace headers, one request in this many (a power of two) reads the whole request-header map. */
const PROBE_EVERY: u32 = 64;

/** Wall-clock nanoseconds (the window bounds and exemplar times on the wire are wall time). */
// @ts-ignore: decorator
@inline
function wallNs(): u64 {
  proxy_get_current_time_nanoseconds(WALL_OUT);
  return load<u64>(WALL_OUT);
}

function hex64(v: u64): string {
  let s = "";
  for (let i = 15; i >= 0; i--) {
    const d = <i32>((v >> (<u64>i * 4)) & 0xf);
    s += String.fromCharCode(d < 10 ? 0x30 + d : 0x61 + d - 10);
  }
  return s;
}

export class Plugin {
  rootId: u32;
  config: Config;
  identity: Identity;
  vmId: string;
  seq: u64 = 0;
  windowStartMs: u64 = 0;
  counters: Counters;
  strings: InternTable;
  table: SeriesTable;
  exemplars: Exemplars;
  /** Exemplars only from traces their sender sampled (`exemplars_sampled_only`). */
  sampledOnly: bool;
  /** Requests read the whole request-header map (readRequest); a trace header was seen in the
   * current window; requests since the last probe. */
  traced: bool = false;
  tracedInWindow: bool = false;
  probe: u32 = 0;
  /** Wall minus monotonic clock (ns), read once per window: a request's wall-clock end without
   * a host call per request. */
  wallBaseNs: u64 = 0;
  labels: LabelResolver;
  encoder: BatchEncoder = new BatchEncoder();
  work: Writer = new Writer();
  outbox: Outbox;
  /** Server-Timing metric name whose `dur` is the app time. */
  appMetric: Bytes;
  overflowLogged: bool = false;
  done: bool = false;
  /** Done, but its last POST is on the wire (proxy_on_done answered false). */
  draining: bool = false;

  constructor(rootId: u32, config: Config) {
    const counters = new Counters();
    const id = readIdentity(config.str(F_REGION_DEFAULT));
    // Envoy's httpCall hashes on :authority (envoy source/extensions/common/wasm/context.cc
    // Context::httpCall, setHashPolicy on Host): a workload-specific default authority lets a
    // consistent-hash DestinationRule send all of one workload's batches to one replica.
    let authority = config.str(F_AGGREGATOR_AUTHORITY);
    if (config.shardAuthority) authority = id.workload + "." + id.namespace + "." + authority;
    this.outbox = new Outbox(config, counters, authority);
    this.counters = counters;
    this.appMetric = new Bytes(config.str(F_APP_TIMING_METRIC));
    const strings = new InternTable();
    const table = new SeriesTable(config.int(F_MAX_SERIES));
    this.strings = strings;
    this.table = table;
    this.exemplars = new Exemplars(table);
    this.sampledOnly = config.int(F_EXEMPLARS_SAMPLED_ONLY) != 0;
    this.rootId = rootId;
    this.config = config;
    this.vmId = hex64(random64());
    this.identity = id;
    this.labels = new LabelResolver(config, id, strings, table);

    this.windowStartMs = this.readWallBase();
    proxy_set_tick_period_milliseconds(<u32>config.int(F_FLUSH_INTERVAL_MS));
    L.text(staticText("meshlat configured vm=")); L.str(this.vmId);
    L.text(staticText(" root=")); L.num(rootId);
    L.text(staticText(" region=")); L.str(id.region);
    L.text(staticText(" workload=")); L.str(id.workload);
    L.text(staticText(" namespace=")); L.str(id.namespace);
    L.text(id.legacy ? staticText(" legacy=true") : staticText(" legacy=false"));
    L.text(staticText(" config=")); config.echo();
    L.emit(LOG_INFO);
  }

  free(): void {
    this.strings.free();
    this.table.free();
    this.exemplars.free();
    this.encoder.free();
    this.work.free();
    this.outbox.free();
  }

  /** Tier label id for the stream's request headers (on_request_headers or on_log). */
  // @ts-ignore: decorator
  @inline readTier(): i32 { return this.labels.readTier(); }

  /** on_request_headers: the stream's tier and, while this root's traffic carries trace
   * headers, its trace id, from one read of the whole request-header map instead of the tier
   * header's value: the same host calls either way. Serializing the whole map costs the host
   * more than one value, so without trace headers only every PROBE_EVERY-th request reads the
   * map, to notice when they appear; a window without any ends the traced mode. */
  readRequest(s: usize): void {
    if (!this.traced && (++this.probe & (PROBE_EVERY - 1)) != 0) {
      S.setTier(s, this.labels.readTier());
      return;
    }
    const labels = this.labels;
    const found = readRequestHeaders(s, labels.tierHeader, this.sampledOnly, TIER);
    S.setTier(s, (found & H_TIER) != 0 ? labels.tierId(TIER.ptr, TIER.len) : labels.idUnknown);
    if ((found & H_TRACE) != 0) {
      this.traced = true;
      this.tracedInWindow = true;
    }
  }

  /** Wall-clock ms now, and the wall-minus-monotonic base (wrapping u64 arithmetic). */
  private readWallBase(): u64 {
    const wall = wallNs();
    this.wallBaseNs = wall - monoNow();
    return wall / 1000000;
  }

  /** proxy_on_log: resolve the labels, fold the timings into the series table. */
  record(s: usize): void {
    const st = this.strings;
    const table = this.table;
    st.full = false;
    this.labels.resolve(s);

    // A label value the full string table could not take folds the whole request into the
    // catch-all: `overflow` never shows in a series of real labels, and the fold is counted.
    const e = st.full ? table.catchAll(this.labels.idOverflow) : table.lookup(this.labels.idOverflow);
    table.addCount(e);
    this.counters.requests++;
    const us = observeTimings(table, e, s);
    if (us >= 0 && S.traceLen(s) != 0) this.exemplars.offer(e, s, <u64>us, S.t0(s) + <u64>us * 1000 + this.wallBaseNs);
    if (table.overflowUsed && !this.overflowLogged) {
      this.overflowLogged = true;
      L.str(E.SERIES_OVERFLOW); L.text(staticText(": series table (max_series=")); L.num(this.config.int(F_MAX_SERIES));
      L.text(staticText(") or label-string table full; further label sets fold into 'overflow'"));
      L.emit(LOG_WARN);
    }
  }

  /** Ends the current window: a non-empty table becomes the next batch in the outbox. */
  closeWindow(): void {
    let nowMs = this.readWallBase();
    // A wall clock stepped back (NTP) must not invert the window: the aggregator answers 400
    // ("start is after end") and the batch would be lost.
    if (nowMs < this.windowStartMs) nowMs = this.windowStartMs;
    const table = this.table;
    if (!table.isEmpty()) {
      this.counters.foldedRequests += table.folded;
      this.outbox.makeRoom(); // before encoding, so this batch's counters include the drop
      this.seq++;
      this.encoder.encode(this.work, this.identity, this.vmId, this.seq, this.windowStartMs,
        nowMs, table, this.strings, this.counters, this.exemplars);
      table.clear();
      this.exemplars.clear();
      if (this.strings.crowded()) this.strings.compact();
      this.outbox.push(this.work, this.seq);
    }
    this.windowStartMs = nowMs;
    this.traced = this.tracedInWindow;
    this.tracedInWindow = false;
  }

  /** proxy_on_tick: close the window and deliver what waits. */
  tick(): void {
    this.outbox.tick();
    this.closeWindow();
    this.labels.forgetServices();
    this.outbox.pump();
  }
}
