// Stored series by their label ids (label-ids.ts), for the flat-batch merge: a series is
// found from the ids its batch resolved, without building its key string and hashing that.
// Open addressing with linear probing, at most half full; removals rebuild it (series leave in
// expiry sweeps, seconds apart).
import { idAt } from "./label-ids.ts";
import { NL } from "../wire/flat-batch.ts";

function hashIds(ids: Int32Array, at: number): number {
  let h = 0x811c9dc5;
  for (let j = 0; j < NL; j++) h = Math.imul(h ^ ids[at + j]!, 0x01000193);
  h ^= h >>> 16;
  return Math.imul(h, 0x85ebca6b) ^ (h >>> 13);
}

/** Whether the series' key holds the ids `ids[at..at+NL)`. */
function holds(key: string, ids: Int32Array, at: number): boolean {
  for (let j = 0; j < NL; j++) if (idAt(key, j) !== ids[at + j]) return false;
  return true;
}

export class SeriesIndex<S extends { readonly key: string }> {
  private table: (S | undefined)[] = new Array(1024);
  private hashes = new Int32Array(1024);
  private count = 0;

  get(ids: Int32Array, at: number): S | undefined {
    const h = hashIds(ids, at);
    const mask = this.hashes.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = this.table[i];
      if (s === undefined) return undefined;
      if (this.hashes[i] === h && holds(s.key, ids, at)) return s;
    }
  }

  /** Adds a series not held yet, whose key holds `ids[at..at+NL)`. */
  add(s: S, ids: Int32Array, at: number): void {
    if (2 * (this.count + 1) > this.hashes.length) this.resize(2 * this.hashes.length);
    this.put(s, hashIds(ids, at));
    this.count++;
  }

  private put(s: S, h: number): void {
    const mask = this.hashes.length - 1;
    let i = h & mask;
    while (this.table[i] !== undefined) i = (i + 1) & mask;
    this.table[i] = s;
    this.hashes[i] = h;
  }

  private resize(size: number): void {
    const old = this.table, oldHashes = this.hashes;
    this.table = new Array(size);
    this.hashes = new Int32Array(size);
    for (let i = 0; i < old.length; i++) if (old[i] !== undefined) this.put(old[i]!, oldHashes[i]!);
  }

  /** Holds exactly `all` (after removals). */
  rebuild(all: Iterable<S>): void {
    const scratch = new Int32Array(NL);
    this.table = new Array(this.hashes.length);
    this.hashes = new Int32Array(this.hashes.length);
    this.count = 0;
    for (const s of all) {
      for (let j = 0; j < NL; j++) scratch[j] = idAt(s.key, j);
      this.add(s, scratch, 0);
    }
  }
}
