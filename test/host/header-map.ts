// An Envoy HTTP header map as the Wasm filter sees it (envoy source/common/http/header_map_impl.cc):
// keys are lower-cased on every write (Http::LowerCaseString in envoy
// source/extensions/common/wasm/context.cc add/replace/remove/setHeaderMapPairs), pseudo-headers
// (":path", ...) iterate before regular ones, repeated keys keep insertion order.
import type { Pair } from "./pairs.ts";

export class HeaderMap {
  readonly entries: Pair[] = [];

  constructor(pairs?: Iterable<readonly [string, string]>) {
    if (pairs) for (const [k, v] of pairs) this.add(k, v);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Envoy's HeaderMap::byteSize(): sum of key and value lengths (what proxy_get_header_map_size returns). */
  byteSize(): number {
    let n = 0;
    for (const [k, v] of this.entries) n += Buffer.byteLength(k) + Buffer.byteLength(v);
    return n;
  }

  /** First value only, as Envoy's getHeaderMapValue (TODO there about repeated headers). */
  get(key: string): string | undefined {
    const k = key.toLowerCase();
    for (const e of this.entries) if (e[0] === k) return e[1];
    return undefined;
  }

  getAll(key: string): string[] {
    const k = key.toLowerCase();
    return this.entries.filter((e) => e[0] === k).map((e) => e[1]);
  }

  add(key: string, value: string): void {
    const k = key.toLowerCase();
    if (k.startsWith(":")) {
      // HeaderMapImpl: pseudo-headers are inserted before the first regular header.
      let i = 0;
      while (i < this.entries.length && this.entries[i]![0].startsWith(":")) i++;
      this.entries.splice(i, 0, [k, value]);
    } else {
      this.entries.push([k, value]);
    }
  }

  /**
   * HeaderMapImpl::setCopy in current Envoy: remove(key) then addCopy(key, value), so every
   * old value goes and the new entry is appended (older Envoy replaced the first value in place,
   * behind envoy.reloadable_features.http_set_copy_replace_all_headers).
   */
  replace(key: string, value: string): void {
    this.remove(key);
    this.add(key, value);
  }

  remove(key: string): void {
    const k = key.toLowerCase();
    for (let j = this.entries.length - 1; j >= 0; j--) if (this.entries[j]![0] === k) this.entries.splice(j, 1);
  }

  setPairs(pairs: readonly Pair[]): void {
    this.entries.length = 0;
    for (const [k, v] of pairs) this.add(k, v);
  }

  toPairs(): Pair[] {
    return this.entries.map((e) => [e[0], e[1]]);
  }
}
