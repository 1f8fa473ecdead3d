// Consistent hashing as Envoy's RING_HASH load balancer does it for a proxy_http_call: the
// async client's hash policy is the `:authority` header (envoy source/extensions/common/wasm/
// context.cc Context::httpCall sets it; source/common/http/async_client_impl.cc hands
// options.hash_policy to the stream's route), and the ring places every host at many points
// (source/extensions/load_balancing_policies/ring_hash/ring_hash_lb.cc). A request goes to the
// first host point at or after its key's hash; when a host leaves, only its keys move, to the
// next host on the ring. Envoy hashes with xxHash64; FNV-1a stands in (only stickiness and
// spread matter here, not the exact placement).

/** Points per host: Envoy's default minimum_ring_size is 1024 for the whole ring. */
const POINTS_PER_HOST = 256;

export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // A final avalanche: FNV's low bits alone cluster keys that differ only at the end.
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b) >>> 0; h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35) >>> 0; h ^= h >>> 16;
  return h >>> 0;
}

export class HashRing<T> {
  private readonly points: { at: number; host: T }[] = [];

  /** `name(host)` identifies a host on the ring (Envoy uses its address). */
  constructor(hosts: readonly T[], name: (h: T) => string) {
    for (const host of hosts) {
      for (let i = 0; i < POINTS_PER_HOST; i++) this.points.push({ at: fnv1a(`${name(host)}_${i}`), host });
    }
    this.points.sort((a, b) => a.at - b.at);
  }

  /** The host for `key`, skipping hosts `healthy` rejects (Envoy builds the ring from healthy hosts). */
  pick(key: string, healthy: (h: T) => boolean = () => true): T | undefined {
    const n = this.points.length;
    if (n === 0) return undefined;
    const k = fnv1a(key);
    let lo = 0, hi = n;
    while (lo < hi) { const mid = (lo + hi) >>> 1; if (this.points[mid]!.at < k) lo = mid + 1; else hi = mid; }
    for (let j = 0; j < n; j++) {
      const p = this.points[(lo + j) % n]!;
      if (healthy(p.host)) return p.host;
    }
    return undefined;
  }
}

/** The `:authority` of a proxy_http_call's pseudo-headers (Envoy requires one). */
export function authorityOf(headers: readonly (readonly [string, string])[]): string {
  for (const [k, v] of headers) if (k === ":authority") return v;
  return "";
}
