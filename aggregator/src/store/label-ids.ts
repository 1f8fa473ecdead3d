// Label values interned as small integer ids, so a series is keyed by a short string of its
// label ids (two UTF-16 units per id) instead of its values joined: a batch's string table
// is interned once per batch, and each series' key is built from ids and hashed in a few
// nanoseconds. Stored series hold references to their ids. An id is never reused while a key
// made from it may still name a window entry (the windows key entries by series key): a value
// once referenced is kept for `retainMs` after its last reference goes, a value never
// referenced (only looked up, e.g. a label set folded into overflow) is dropped at the next
// sweep. Sweeps run between batches (ids handed out stay valid for the batch) and only when
// the table has doubled since the last one, so their cost is amortised per value interned.

import { NL } from "../wire/flat-batch.ts";

/** Values interned beyond the live ones before a sweep is worth its walk. */
const SLACK = 4096;

/** FNV-1a (32-bit) over a string's UTF-16 units; over an ASCII value's bytes it gives the same. */
function hashString(v: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), 0x01000193);
  return h;
}

function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h;
}

function sameBytes(v: string, b: Uint8Array, start: number, end: number): boolean {
  if (v.length !== end - start) return false;
  for (let i = start; i < end; i++) if (v.charCodeAt(i - start) !== b[i]) return false;
  return true;
}

/**
 * Open addressing (linear probing, at most half full) over ids, so a value can be found from
 * its bytes in a batch body (idOfBytes: no string made) as well as from a string (id).
 */
export class LabelIds {
  private slots = new Int32Array(1024); // id + 1; 0: empty
  private readonly values: string[] = [];
  private readonly hashes: number[] = [];
  private readonly refs: number[] = [];
  /** When the id's last reference went (-Infinity: never referenced; dropped at the next sweep). */
  private readonly freedAt: number[] = [];
  private readonly free: number[] = [];
  private count = 0;
  private sweepAt = SLACK;
  constructor(private readonly retainMs: number) {}

  /** Values held (referenced or not yet dropped). */
  get size(): number { return this.count; }

  id(value: string): number {
    const h = hashString(value);
    const mask = this.slots.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const x = this.slots[i]!;
      if (x === 0) return this.add(value, h, i);
      if (this.hashes[x - 1] === h && this.values[x - 1] === value) return x - 1;
    }
  }

  /** The id of the ASCII value in `b[start..end)`; the string is made only when the value is new. */
  idOfBytes(b: Buffer, start: number, end: number): number {
    const h = hashBytes(b, start, end);
    const mask = this.slots.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const x = this.slots[i]!;
      if (x === 0) return this.add(b.toString("latin1", start, end), h, i);
      if (this.hashes[x - 1] === h && sameBytes(this.values[x - 1]!, b, start, end)) return x - 1;
    }
  }

  private add(value: string, h: number, slot: number): number {
    const id = this.free.pop() ?? this.values.length;
    this.values[id] = value;
    this.hashes[id] = h;
    this.refs[id] = 0;
    this.freedAt[id] = -Infinity;
    this.slots[slot] = id + 1;
    if (++this.count * 2 > this.slots.length) this.rebuild(this.slots.length * 2);
    return id;
  }

  /** Re-inserts every held id into a table of `size` slots (growing, or after a sweep dropped some). */
  private rebuild(size: number): void {
    const slots = new Int32Array(size), mask = size - 1;
    for (let id = 0; id < this.values.length; id++) {
      if (this.refs[id] === -1) continue;
      let i = this.hashes[id]! & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = id + 1;
    }
    this.slots = slots;
  }

  value(id: number): string { return this.values[id]!; }

  ref(id: number): void { this.refs[id]!++; }

  unref(id: number, now: number): void {
    if (--this.refs[id]! === 0) this.freedAt[id] = now;
  }

  /** Drops values no series references (and none has for `retainMs`) once the table has doubled. */
  sweep(now: number): void {
    if (this.count < this.sweepAt) return;
    const cutoff = now - this.retainMs;
    for (let id = 0; id < this.values.length; id++) {
      if (this.refs[id] !== 0 || this.freedAt[id]! >= cutoff) continue;
      this.refs[id] = -1; // free: skipped by rebuild, reused by add
      this.values[id] = "";
      this.free.push(id);
      this.count--;
    }
    // Shrinks the table too: one batch with a huge string table must not keep it large.
    let size = 1024;
    while (size < 4 * this.count) size *= 2;
    this.rebuild(Math.min(size, this.slots.length));
    this.sweepAt = Math.max(SLACK, 2 * this.count);
  }
}

const codes: number[] = [];
/** A series key: its label ids `ids[at..at+NL)`, two UTF-16 units each (built for new series only; lookups go by ids, series-index.ts). */
export function keyOf(ids: ArrayLike<number>, at: number): string {
  codes.length = 2 * NL;
  for (let j = 0; j < NL; j++) {
    const id = ids[at + j]!;
    codes[2 * j] = id >>> 16;
    codes[2 * j + 1] = id & 0xffff;
  }
  return String.fromCharCode(...codes);
}

/** The label id at position `k` of a key. */
export const idAt = (key: string, k: number): number => key.charCodeAt(2 * k) * 0x10000 + key.charCodeAt(2 * k + 1);
