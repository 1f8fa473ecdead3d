// The ring hash that stands in for Envoy's RING_HASH on proxy_http_call's :authority: a key
// always reaches the same host, keys spread over hosts, and when a host is down only its keys
// move (to the next host on the ring), which is the failover the deployment relies on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HashRing, authorityOf } from "./ring-hash.ts";

const HOSTS = ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"];
const KEYS = Array.from({ length: 600 }, (_, i) => `wl-${i}.team-${i % 40}.meshlat-aggregator.istio-system.svc.cluster.local`);

test("a key always reaches the same host, and keys spread over all hosts", () => {
  const ring = new HashRing(HOSTS, (h) => h);
  const again = new HashRing([...HOSTS].reverse(), (h) => h);
  const perHost = new Map<string, number>();
  for (const k of KEYS) {
    const h = ring.pick(k)!;
    assert.equal(again.pick(k), h, "placement does not depend on host order");
    perHost.set(h, (perHost.get(h) ?? 0) + 1);
  }
  for (const h of HOSTS) assert.ok((perHost.get(h) ?? 0) > KEYS.length / 6, `${h} got ${perHost.get(h)} of ${KEYS.length} keys`);
});

test("a down host's keys move to other hosts; no other key moves", () => {
  const ring = new HashRing(HOSTS, (h) => h);
  const down = HOSTS[1]!;
  let moved = 0;
  for (const k of KEYS) {
    const before = ring.pick(k)!;
    const after = ring.pick(k, (h) => h !== down)!;
    assert.notEqual(after, down);
    if (before === down) moved++;
    else assert.equal(after, before, `key ${k} moved although its host is up`);
  }
  assert.ok(moved > 0);
  assert.equal(ring.pick("x", () => false), undefined, "no healthy host: no pick (Envoy: no healthy upstream)");
});

test("authorityOf reads the :authority pseudo-header", () => {
  assert.equal(authorityOf([[":method", "POST"], [":authority", "a.b.agg"]]), "a.b.agg");
  assert.equal(authorityOf([[":method", "POST"]]), "");
});
