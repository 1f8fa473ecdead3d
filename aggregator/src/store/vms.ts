// Per-VM state: de-duplication of retried batches by (proxy id, vm, seq), and the filters' own
// cumulative counters (max seen per VM, summed per workload/namespace). Bounded by `maxVms`
// (least recently seen evicted) and idle expiry; an evicted VM's counters move into a retired
// total so the exposed sums never go down, and a tombstone remembers them so that a VM that
// reports again (a quiet workload idle past the timeout) resumes from them instead of adding
// its whole cumulative value a second time.
import { COUNTER_KEYS } from "../wire/types.ts";
import type { Batch, CounterKey } from "../wire/types.ts";

interface VmState {
  readonly workload: string;
  readonly namespace: string;
  /** seqs[seq % window] === seq when seq was seen; with `max` that covers (max - window, max]. */
  readonly seqs: Float64Array;
  max: number;
  /** Seqs at or below this are duplicates: the highest seq merged before an eviction (the ring is gone). */
  floor: number;
  lastSeen: number;
  readonly counters: Record<CounterKey, number>;
}

export interface WorkloadCounters { readonly workload: string; readonly namespace: string; readonly counters: Record<CounterKey, number>; recentVms: number }

/** What an evicted VM leaves behind: its counters (also added to `into`) and its highest seq. */
interface Tombstone { readonly counters: Record<CounterKey, number>; readonly max: number; readonly into: WorkloadCounters }

const zero = (): Record<CounterKey, number> => ({ requests: 0, folded_requests: 0, dropped_batches: 0, failed_flushes: 0 });

export class VmRegistry {
  private readonly vms = new Map<string, VmState>();
  private readonly retired = new Map<string, WorkloadCounters>();
  /** Evicted VMs, oldest first, at most maxVms; one forgotten here would be counted again if it returned. */
  private readonly tombstones = new Map<string, Tombstone>();
  constructor(readonly opts: { readonly maxVms: number; readonly dedupeWindow: number; readonly idleTimeoutMs: number }) {}

  get size(): number { return this.vms.size; }

  /**
   * Records the batch's seq and counters. Returns false for a duplicate: a seq already seen, or
   * one older than the remembered window (dropping it may lose a late batch; accepting it could
   * double-count, which a counter can never undo).
   */
  admit(b: Batch, now: number): boolean {
    const key = b.proxy.id + "\u0000" + b.vm;
    let st = this.vms.get(key);
    if (st) {
      this.vms.delete(key); // re-insert below: Map order is the LRU order
    } else {
      st = { workload: b.proxy.workload, namespace: b.proxy.namespace, seqs: new Float64Array(this.opts.dedupeWindow), max: 0, floor: 0, lastSeen: now, counters: zero() };
      const t = this.tombstones.get(key);
      if (t) {
        // Back from eviction: take its counters out of the retired total and resume from them.
        this.tombstones.delete(key);
        for (const k of COUNTER_KEYS) { t.into.counters[k] -= t.counters[k]; st.counters[k] = t.counters[k]; }
        st.max = st.floor = t.max;
      }
    }
    this.vms.set(key, st);
    st.lastSeen = now;
    const w = this.opts.dedupeWindow;
    const slot = b.seq % w;
    let dup: boolean;
    if (b.seq > st.max) {
      dup = false;
      st.max = b.seq;
    } else {
      dup = b.seq <= st.max - w || b.seq <= st.floor || st.seqs[slot] === b.seq;
    }
    if (!dup) st.seqs[slot] = b.seq;
    for (const k of COUNTER_KEYS) if (b.counters[k] > st.counters[k]) st.counters[k] = b.counters[k];
    while (this.vms.size > this.opts.maxVms) this.evict(this.vms.keys().next().value as string);
    return !dup;
  }

  expire(now: number): void {
    const cutoff = now - this.opts.idleTimeoutMs;
    for (const [k, st] of this.vms) {
      if (st.lastSeen >= cutoff) break; // LRU order: the rest are newer
      this.evict(k);
    }
  }

  private evict(key: string): void {
    const st = this.vms.get(key);
    if (!st) return;
    this.vms.delete(key);
    // Retired totals are bounded too: past max_vms distinct workloads they fold into `overflow`.
    const known = this.retired.has(st.workload + "\u0000" + st.namespace);
    const r = known || this.retired.size < this.opts.maxVms
      ? this.bucket(this.retired, st.workload, st.namespace)
      : this.bucket(this.retired, "overflow", "overflow");
    for (const k of COUNTER_KEYS) r.counters[k] += st.counters[k];
    this.tombstones.set(key, { counters: st.counters, max: st.max, into: r });
    if (this.tombstones.size > this.opts.maxVms) this.tombstones.delete(this.tombstones.keys().next().value as string);
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
      const o = this.bucket(out, st.workload, st.namespace);
      for (const k of COUNTER_KEYS) o.counters[k] += st.counters[k];
      if (st.lastSeen >= recentSince) o.recentVms++;
    }
    return [...out.values()];
  }
}
