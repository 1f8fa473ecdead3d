// Label values interned as small integer ids, so a series is keyed by a short string of its
// label ids (two UTF-16 units per id) instead of its ten values joined: a batch's string table
// is interned once per batch, and each series' key is built from ids and hashed in a few
// nanoseconds. Stored series hold references to their ids. An id is never reused while a key
// made from it may still name a window entry (the windows key entries by series key): a value
// once referenced is kept for `retainMs` after its last reference goes, a value never
// referenced (only looked up, e.g. a label set folded into overflow) is dropped at the next
// sweep. Sweeps run between batches (ids handed out stay valid for the batch) and only when
// the table has doubled since the last one, so their cost is amortised per value interned.

import { LABEL_NAMES } from "../wire/types.ts";

// keyOf() spells out the ten ids (a call with fixed arguments is the fast one).
if (LABEL_NAMES.length !== 10) throw new Error("label-ids: keyOf() expects 10 labels");

/** Values interned beyond the live ones before a sweep is worth its walk. */
const SLACK = 4096;

export class LabelIds {
  private readonly ids = new Map<string, number>();
  private readonly values: string[] = [];
  private readonly refs: number[] = [];
  /** When the id's last reference went (-Infinity: never referenced; dropped at the next sweep). */
  private readonly freedAt: number[] = [];
  private readonly free: number[] = [];
  private sweepAt = SLACK;
  constructor(private readonly retainMs: number) {}

  /** Values held (referenced or not yet dropped). */
  get size(): number { return this.ids.size; }

  id(value: string): number {
    let i = this.ids.get(value);
    if (i === undefined) {
      i = this.free.pop() ?? this.values.length;
      this.values[i] = value;
      this.refs[i] = 0;
      this.freedAt[i] = -Infinity;
      this.ids.set(value, i);
    }
    return i;
  }

  value(id: number): string { return this.values[id]!; }

  ref(id: number): void { this.refs[id]!++; }

  unref(id: number, now: number): void {
    if (--this.refs[id]! === 0) this.freedAt[id] = now;
  }

  /** Drops values no series references (and none has for `retainMs`) once the table has doubled. */
  sweep(now: number): void {
    if (this.ids.size < this.sweepAt) return;
    const cutoff = now - this.retainMs;
    for (const [v, i] of this.ids) {
      if (this.refs[i] !== 0 || this.freedAt[i]! >= cutoff) continue;
      this.ids.delete(v);
      this.values[i] = "";
      this.free.push(i);
    }
    this.sweepAt = Math.max(SLACK, 2 * this.ids.size);
  }
}

/** A series key: its ten label ids, two UTF-16 units each. */
export function keyOf(ids: ArrayLike<number>, at: number): string {
  const a = ids[at]!, b = ids[at + 1]!, c = ids[at + 2]!, d = ids[at + 3]!, e = ids[at + 4]!;
  const f = ids[at + 5]!, g = ids[at + 6]!, h = ids[at + 7]!, i = ids[at + 8]!, j = ids[at + 9]!;
  return String.fromCharCode(
    a >>> 16, a & 0xffff, b >>> 16, b & 0xffff, c >>> 16, c & 0xffff, d >>> 16, d & 0xffff, e >>> 16, e & 0xffff,
    f >>> 16, f & 0xffff, g >>> 16, g & 0xffff, h >>> 16, h & 0xffff, i >>> 16, i & 0xffff, j >>> 16, j & 0xffff);
}

/** The label id at position `k` of a key. */
export const idAt = (key: string, k: number): number => key.charCodeAt(2 * k) * 0x10000 + key.charCodeAt(2 * k + 1);
