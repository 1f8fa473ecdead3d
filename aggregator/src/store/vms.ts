// Per-VM state: de-duplication of retried batches by (proxy id, vm, seq), and the filters' own
// cumulative counters (max seen per VM, summed per workload/namespace). Bounded per reporting
// namespace (`maxVmsPerNamespace`: a namespace churning VM ids evicts only its own), by `maxVms`
// overall (least recently seen evicted) and by idle expiry; every eviction is counted. An
// evicted VM's counters move into a retired total so the exposed sums never go down, and a
// tombstone remembers them so that a VM that reports again resumes from them instead of adding
// its whole cumulative value a second time.
//
// Exposed counters are the increases this process saw (as OpenTelemetry's cumulativetodelta):
// a VM first seen at seq 1 started while we listened, so all of its counts are increases; a VM
// first seen later (this process restarted, or the VM was forgotten) starts from the values it
// reports then, so a restart does not replay every VM's lifetime totals as a sudden increase.
//
// A known VM's seq may only run ahead as fast as a filter can make batches (one per tick, ticks
// at least 100 ms apart): a forged huge seq would otherwise make every later batch of that VM a
// silent duplicate.
import { AggError } from "../errors.ts";
import { COUNTER_KEYS } from "../wire/types.ts";
import type { BatchHead, CounterKey } from "../wire/types.ts";

interface VmState {
  readonly workload: string;
  readonly namespace: string;
  /**
   * Seqs seen in (max - window, max]: bit k set when max - k was seen. A bitmap, not a ring of
   * seqs: 32 B instead of 2 KB per VM at the default window (held by tombstones too), small
   * enough for V8 to keep on its heap rather than as an external buffer.
   */
  readonly seen: Uint32Array;
  max: number;
  /** Seqs at or below this are duplicates: the highest seq merged before an eviction (the ring is gone). */
  floor: number;
  lastSeen: number;
  readonly counters: Record<CounterKey, number>;
  /** Counter values that were there before this process saw the VM (not increases). */
  readonly base: Record<CounterKey, number>;
  /** The label pair its counters are exposed under (`overflow` past maxFilterWorkloads). */
  readonly shownAs: string;
}

/** The filter's shortest flush interval (DESIGN "Plugin configuration": 100–60000 ms). */
const MIN_FLUSH_MS = 100;

export type EvictReason = "idle" | "namespace_quota" | "capacity";
export const EVICT_REASONS: readonly EvictReason[] = ["idle", "namespace_quota", "capacity"];

export interface WorkloadCounters { readonly workload: string; readonly namespace: string; readonly counters: Record<CounterKey, number>; recentVms: number }

/** What an evicted VM leaves behind: its counters (their increases also added to `into`) and its highest seq. */
interface Tombstone { readonly st: VmState; readonly into: WorkloadCounters }

export interface VmOptions {
  readonly maxVms: number;
  readonly dedupeWindow: number;
  readonly idleTimeoutMs: number;
  /** VMs one reporting namespace may hold (Infinity: no quota). */
  readonly maxVmsPerNamespace?: number;
  /** Distinct workload/namespace label pairs of the meshlat_filter_* families; more fold into `overflow`. */
  readonly maxFilterWorkloads?: number;
}

/** Moves a seen-bitmap (bit k: max - k seen) to a highest seq `d` above the old one. */
function shiftSeen(bits: Uint32Array, d: number): void {
  const n = bits.length;
  if (d >= n * 32) { bits.fill(0); return; }
  const ws = d >>> 5, bs = d & 31;
  for (let i = n - 1; i >= 0; i--) {
    const hi = i - ws >= 0 ? bits[i - ws]! : 0;
    const lo = i - ws - 1 >= 0 ? bits[i - ws - 1]! : 0;
    bits[i] = bs === 0 ? hi : (hi << bs) | (lo >>> (32 - bs));
  }
}

const zero = (): Record<CounterKey, number> => ({ requests: 0, folded_requests: 0, dropped_batches: 0, failed_flushes: 0 });

const pairKey = (workload: string, namespace: string) => workload + "\u0000" + namespace;
const OVERFLOW_PAIR = pairKey("overflow", "overflow");

export class VmRegistry {
  private readonly vms = new Map<string, VmState>();
  /** The same VMs per namespace, each in LRU order. */
  private readonly byNamespace = new Map<string, Map<string, VmState>>();
  private readonly retired = new Map<string, WorkloadCounters>();
  /** Evicted VMs, oldest first, at most maxVms (and maxVmsPerNamespace per namespace); one forgotten here is counted from its next report on. */
  private readonly tombstones = new Map<string, Tombstone>();
  private readonly tombstonesByNamespace = new Map<string, Map<string, Tombstone>>();
  /** Label pairs the filter families show (grow-only: their totals never go away). */
  private readonly shown = new Set<string>();
  readonly evicted: Record<EvictReason, number> = { idle: 0, namespace_quota: 0, capacity: 0 };
  /** VMs whose counters are shown under `overflow` because maxFilterWorkloads pairs were shown. */
  foldedVms = 0;
  constructor(readonly opts: VmOptions) {}

  get size(): number { return this.vms.size; }

  private nsMap<T>(m: Map<string, Map<string, T>>, ns: string): Map<string, T> {
    let x = m.get(ns);
    if (!x) { x = new Map(); m.set(ns, x); }
    return x;
  }

  private showAs(workload: string, namespace: string): string {
    const k = pairKey(workload, namespace);
    if (this.shown.has(k)) return k;
    if (this.shown.size < (this.opts.maxFilterWorkloads ?? Infinity)) { this.shown.add(k); return k; }
    this.foldedVms++;
    return OVERFLOW_PAIR;
  }

  /**
   * Records the batch's seq and counters. Returns false for a duplicate: a seq already seen, or
   * one older than the remembered window (dropping it may lose a late batch; accepting it could
   * double-count, which a counter can never undo).
   */
  admit(b: BatchHead, now: number): boolean {
    const key = b.proxy.id + "\u0000" + b.vm;
    const ns = b.proxy.namespace;
    let st = this.vms.get(key);
    if (st) {
      this.checkJump(st, b.seq, now);
      this.vms.delete(key); // re-insert below: Map order is the LRU order
      this.byNamespace.get(st.namespace)!.delete(key);
    } else {
      const t = this.tombstones.get(key);
      if (t) {
        // Back from eviction: take its increases out of the retired total and resume from it.
        this.checkJump(t.st, b.seq, now);
        this.dropTombstone(key, t);
        for (const k of COUNTER_KEYS) t.into.counters[k] -= t.st.counters[k] - t.st.base[k];
        st = t.st;
        st.floor = st.max;
      } else {
        const base = b.seq === 1 ? zero() : { ...b.counters };
        st = { workload: b.proxy.workload, namespace: ns, seen: new Uint32Array((this.opts.dedupeWindow + 31) >>> 5), max: 0, floor: 0, lastSeen: now, counters: zero(), base, shownAs: this.showAs(b.proxy.workload, ns) };
      }
      const mine = this.nsMap(this.byNamespace, st.namespace);
      if (mine.size >= (this.opts.maxVmsPerNamespace ?? Infinity)) this.evict(mine.keys().next().value as string, "namespace_quota");
    }
    this.vms.set(key, st);
    this.nsMap(this.byNamespace, st.namespace).set(key, st);
    st.lastSeen = now;
    const w = this.opts.dedupeWindow;
    let dup: boolean;
    if (b.seq > st.max) {
      dup = false;
      shiftSeen(st.seen, b.seq - st.max);
      st.max = b.seq;
    } else {
      const k = st.max - b.seq;
      dup = k >= w || b.seq <= st.floor || (st.seen[k >>> 5]! & (1 << (k & 31))) !== 0;
    }
    if (!dup) { const k = st.max - b.seq; st.seen[k >>> 5]! |= 1 << (k & 31); }
    for (const k of COUNTER_KEYS) if (b.counters[k] > st.counters[k]) st.counters[k] = b.counters[k];
    while (this.vms.size > this.opts.maxVms) this.evict(this.vms.keys().next().value as string, "capacity");
    return !dup;
  }

  private checkJump(st: VmState, seq: number, now: number): void {
    const limit = st.max + this.opts.dedupeWindow + Math.ceil(Math.max(0, now - st.lastSeen) / MIN_FLUSH_MS);
    if (seq > limit) throw new AggError("AGG_ERR_SCHEMA", `/seq: ${seq} runs ahead of this VM's last seq ${st.max} faster than a filter makes batches (at most ${limit} now)`, "/seq");
  }

  private dropTombstone(key: string, t: Tombstone): void {
    this.tombstones.delete(key);
    const m = this.tombstonesByNamespace.get(t.st.namespace);
    m?.delete(key);
    if (m && m.size === 0) this.tombstonesByNamespace.delete(t.st.namespace);
  }

  expire(now: number): void {
    const cutoff = now - this.opts.idleTimeoutMs;
    for (const [k, st] of this.vms) {
      if (st.lastSeen >= cutoff) break; // LRU order: the rest are newer
      this.evict(k, "idle");
    }
  }

  private evict(key: string, reason: EvictReason): void {
    const st = this.vms.get(key);
    if (!st) return;
    this.vms.delete(key);
    const mine = this.byNamespace.get(st.namespace)!;
    mine.delete(key);
    if (mine.size === 0) this.byNamespace.delete(st.namespace);
    this.evicted[reason]++;
    const [workload, namespace] = st.shownAs.split("\u0000") as [string, string];
    const r = this.bucket(this.retired, workload, namespace);
    for (const k of COUNTER_KEYS) r.counters[k] += st.counters[k] - st.base[k];
    const t: Tombstone = { st, into: r };
    this.tombstones.set(key, t);
    const ts = this.nsMap(this.tombstonesByNamespace, st.namespace);
    ts.set(key, t);
    if (ts.size > (this.opts.maxVmsPerNamespace ?? Infinity)) { const k = ts.keys().next().value as string; this.dropTombstone(k, ts.get(k)!); }
    if (this.tombstones.size > this.opts.maxVms) { const k = this.tombstones.keys().next().value as string; this.dropTombstone(k, this.tombstones.get(k)!); }
  }

  private bucket(m: Map<string, WorkloadCounters>, workload: string, namespace: string): WorkloadCounters {
    const k = workload + "\u0000" + namespace;
    let r = m.get(k);
    if (!r) { r = { workload, namespace, counters: zero(), recentVms: 0 }; m.set(k, r); }
    return r;
  }

  /** Per workload/namespace: proxies (Envoy instances) and VMs that reported since `since`. */
  reporting(since: number): { workload: string; namespace: string; proxies: number; vms: number }[] {
    const out = new Map<string, { workload: string; namespace: string; proxies: Set<string>; vms: number }>();
    for (const [key, st] of this.vms) {
      if (st.lastSeen < since) continue;
      const k = st.workload + "\u0000" + st.namespace;
      let o = out.get(k);
      if (!o) { o = { workload: st.workload, namespace: st.namespace, proxies: new Set(), vms: 0 }; out.set(k, o); }
      o.proxies.add(key.slice(0, key.lastIndexOf("\u0000")));
      o.vms++;
    }
    return [...out.values()].map((o) => ({ workload: o.workload, namespace: o.namespace, proxies: o.proxies.size, vms: o.vms }));
  }

  /** Counters summed per workload/namespace (live + retired VMs), and VMs seen since `recentSince`. */
  byWorkload(recentSince: number): WorkloadCounters[] {
    const out = new Map<string, WorkloadCounters>();
    for (const r of this.retired.values()) {
      const o = this.bucket(out, r.workload, r.namespace);
      for (const k of COUNTER_KEYS) o.counters[k] += r.counters[k];
    }
    for (const st of this.vms.values()) {
      const [workload, namespace] = st.shownAs.split("\u0000") as [string, string];
      const o = this.bucket(out, workload, namespace);
      for (const k of COUNTER_KEYS) o.counters[k] += st.counters[k] - st.base[k];
      if (st.lastSeen >= recentSince) o.recentVms++;
    }
    return [...out.values()];
  }
}
