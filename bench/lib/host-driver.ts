// Drives whole requests through a VM of the project's proxy-wasm host (test/host/), the same
// callback sequence for every module under test: context create, request headers (end of
// stream), response headers, response body (end of stream), log, done/delete. Requests are
// prepared once (headers, stream properties, clock steps) so the loop itself costs as little
// as possible and the same for every contender.
import { istioClusterMetadata, istioPeerValue } from "../../test/host/index.ts";
import type { ManualClock, StreamInfo, Vm } from "../../test/host/index.ts";
import { prng, requestCase, requestHeaders, responseHeaders } from "./traffic.ts";
import type { RequestCase } from "./traffic.ts";

export interface Prepared {
  info: StreamInfo;
  reqHeaders: [string, string][];
  respHeaders: [string, string][];
  body: Uint8Array;
  upstreamNs: bigint;
  responseNs: bigint;
}

const BODY = new Uint8Array(512).fill(0x7b);
const PEER = { type: "deployment", workload: "frontend", name: "frontend-7d9f8b6c5-x2x4q", cluster: "Kubernetes", namespace: "shop", service: "frontend", revision: "v1", app: "frontend", version: "v1", region: "us-east-1" };
// Built once: the host encodes a cluster's metadata once per object.
const metadataByService = new Map<string, Record<string, Record<string, unknown>>>();

export function prepare(c: RequestCase): Prepared {
  const info: StreamInfo = {
    direction: c.direction,
    clusterName: c.direction === "outbound" ? `outbound|${c.port}||${c.destination}` : `inbound|${c.port}||`,
    responseCode: c.status,
    responseFlags: c.responseFlags,
    mtls: c.mtls,
  };
  if (c.direction === "outbound") info.upstreamLocality = { region: c.peerRegion, zone: `${c.peerRegion}a` };
  else {
    // What Istio >= 1.29 serves (test/host/istio.ts): the downstream peer a CelState Struct that
    // a whole read returns as a pairs map (envoy expr context.cc FilterStateWrapper, cel_state.cc
    // exprValue), with the peer's region; the inbound cluster's metadata names the service.
    info.properties = { "filter_state\u0000downstream_peer": istioPeerValue(PEER, "1.29+") };
    let meta = metadataByService.get(c.destination);
    if (meta === undefined) {
      meta = istioClusterMetadata([{ host: c.destination, name: c.destination.split(".")[0]!, namespace: c.destination.split(".")[1] ?? "" }]);
      metadataByService.set(c.destination, meta);
    }
    info.clusterMetadata = meta;
  }
  const reqHeaders = requestHeaders(c);
  if (c.direction === "inbound") reqHeaders[0] = [":authority", `${c.destination}:${c.port}`];
  return {
    info,
    reqHeaders,
    respHeaders: responseHeaders(c),
    body: BODY,
    upstreamNs: BigInt(Math.round(c.upstreamMs * 1e6)),
    responseNs: BigInt(Math.round(c.responseMs * 1e6)),
  };
}

/** A request mix: `size` prepared requests from the realistic generator with overrides. */
export function mix(seed: number, size: number, over: (i: number, rand: () => number) => Partial<RequestCase> = () => ({})): Prepared[] {
  const rand = prng(seed);
  return Array.from({ length: size }, (_, i) => prepare(requestCase(rand, over(i, rand))));
}

export class Driver {
  private next = 0;
  constructor(readonly vm: Vm, readonly clock: ManualClock, readonly cases: readonly Prepared[]) {}

  /** n whole requests, one after the other, with the clock stepped between phases. */
  run(n: number): void {
    const { vm, clock, cases } = this;
    let k = this.next;
    for (let i = 0; i < n; i++) {
      const c = cases[k];
      if (++k === cases.length) k = 0;
      const s = vm.stream(c.info);
      s.requestHeaders(c.reqHeaders, true);
      clock.advanceNs(c.upstreamNs);
      s.responseHeaders(c.respHeaders, false);
      clock.advanceNs(c.responseNs);
      s.responseBody(c.body, true);
      s.log();
      s.done();
    }
    this.next = k;
  }

  /** Longest virtual time one request of this mix takes (to keep counted runs between ticks). */
  maxRequestNs(): bigint {
    return this.cases.reduce((m, c) => (c.upstreamNs + c.responseNs > m ? c.upstreamNs + c.responseNs : m), 0n);
  }
}
