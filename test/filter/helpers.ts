// Shared fixtures for the filter's tests: the built optimized module (the artifact that
// ships), a plugin wired to a capturing aggregator cluster, and batch decoding with msgpackr
// exactly as the aggregator decodes.
import { readFileSync } from "node:fs";
import assert from "node:assert/strict";
import { Unpackr } from "msgpackr";
import { readTimings } from "../../aggregator/src/wire/packed-timings.ts";
import {
  loadModule, startPlugin, runRequest, ManualClock, type HttpCallRequest, type HttpCallResult,
  type Plugin, type PluginOptions, type NodeInfo, type RequestSpec,
} from "../host/index.ts";

export const WASM_PATH = new URL("../../filter/build/meshlat.wasm", import.meta.url);
export const AGG_CLUSTER = "outbound|9464||meshlat-aggregator.istio-system.svc.cluster.local";

let modulePromise: Promise<WebAssembly.Module> | null = null;
export function filterModule(): Promise<WebAssembly.Module> {
  modulePromise ??= loadModule(readFileSync(WASM_PATH));
  return modulePromise;
}

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "number" });

/** The batch exactly as msgpackr decodes it (wire v2, docs/wire-format.md). */
export function decodeRaw(body: Uint8Array): RawBatch {
  return unpackr.unpack(body) as RawBatch;
}

/**
 * The batch with v2's compact parts expanded for reading: every series' full label index
 * tuple (the masks applied against the previous series), and all five timings in order, null
 * where the timing mask left one out.
 */
export function decodeBatch(body: Uint8Array): Batch {
  const raw = decodeRaw(body);
  assert.equal(raw.v, 2, "wire v2");
  let prev: number[] = [];
  const series = raw.series.map(([lw, count, tw]): Series => {
    const [mask, ...ids] = lw;
    const labels = raw.labels.map((_, i) => (mask! & (1 << i) ? ids.shift()! : prev[i]!));
    assert.equal(ids.length, 0, "label mask and indices agree");
    prev = labels;
    // The aggregator's own reader of the timings bin: what it reads is what the filter meant.
    const timings = readTimings(tw, () => "timings", count, 1024).map((t): Timing => (t === null ? null : [t.n, t.sumUs, { scale: t.scale, zero: t.zero, offset: t.offset, counts: [...t.counts] }]));
    return [labels, count, timings];
  });
  return { ...raw, series };
}

export interface ExpBuckets { scale: number; zero: number; offset: number; counts: number[] }
export type Timing = [number, number, ExpBuckets] | null;
export type Series = [number[], number, Timing[]];
interface BatchCommon {
  v: number;
  proxy: { id: string; workload: string; namespace: string; region: string };
  vm: string;
  seq: number;
  window: [number, number];
  labels: string[];
  strings: string[];
  counters: Record<string, number>;
}
export interface RawBatch extends BatchCommon { series: [number[], number, Uint8Array, unknown?][] }
export interface Batch extends BatchCommon { series: Series[] }

export const LABELS = [
  "reporter", "source_workload", "source_namespace", "destination_service", "response_code",
  "response_flags", "connection_security_policy", "user_tier", "region", "peer_region",
] as const;
export type LabelSet = Record<(typeof LABELS)[number], string>;

/** A series' labels as a name -> value object. */
export function labelsOf(b: Batch, s: Series): LabelSet {
  const out = {} as LabelSet;
  s[0].forEach((idx, i) => (out[LABELS[i]!] = b.strings[idx]!));
  return out;
}

export const NODE: NodeInfo = {
  id: "sidecar~10.1.2.3~checkout-7d9f.shop~shop.svc.cluster.local",
  metadata: { WORKLOAD_NAME: "checkout", NAMESPACE: "shop", LABELS: { app: "checkout" } },
  locality: { region: "eu-west-1", zone: "eu-west-1a" },
};

export interface Harness {
  plugin: Plugin;
  clock: ManualClock;
  /** Every POST the filter made, in order (including retries). */
  posts: HttpCallRequest[];
  /** What the fake aggregator answers next (default 204). */
  respond: (req: HttpCallRequest) => HttpCallResult;
  batches(): Batch[];
  stop(): void;
}

export async function harness(
  config: Record<string, unknown> | string,
  opts: Partial<PluginOptions> = {},
): Promise<Harness> {
  const clock = (opts.clock as ManualClock | undefined) ?? new ManualClock({ wallNs: 1_700_000_000_000_000_000n });
  const h = {
    posts: [] as HttpCallRequest[],
    respond: (_req: HttpCallRequest): HttpCallResult => ({ headers: [[":status", "204"]] }),
  } as Harness;
  const plugin = await startPlugin({
    module: await filterModule(),
    configuration: typeof config === "string" ? config : JSON.stringify(config),
    node: NODE,
    workers: 1,
    clock,
    logLevel: "debug",
    clusters: {
      [AGG_CLUSTER]: (req) => {
        h.posts.push(req);
        return h.respond(req);
      },
    },
    ...opts,
  });
  h.plugin = plugin;
  h.clock = clock;
  h.batches = () => h.posts.map((p) => decodeBatch(p.body));
  h.stop = () => plugin.stop();
  return h;
}

export const BASE_CONFIG = { aggregator_cluster: AGG_CLUSTER };
export const OUTBOUND = "outbound|8080||payments.shop.svc.cluster.local";
export const INBOUND = "inbound|8080||";

export const REQ: [string, string][] = [[":method", "GET"], [":path", "/"], [":authority", "payments.shop:8080"]];
export const RESP_200: [string, string][] = [[":status", "200"]];

/** Runs requests on the first worker, flushes one tick, returns the body of the single batch sent. */
export async function oneBatchBody(h: Harness, specs: RequestSpec[]): Promise<Uint8Array> {
  const vm = h.plugin.workers[0]!;
  const before = h.posts.length;
  for (const s of specs) runRequest(vm, h.clock, s);
  vm.tick();
  await h.plugin.settle();
  assert.equal(h.posts.length, before + 1, "one batch");
  return h.posts[h.posts.length - 1]!.body;
}

/** oneBatch, decoded as the filter tests read it. */
export async function oneBatch(h: Harness, specs: RequestSpec[]): Promise<Batch> {
  return decodeBatch(await oneBatchBody(h, specs));
}

/** Labels of the only series of a batch. */
export function onlyLabels(b: Batch): LabelSet {
  assert.equal(b.series.length, 1, JSON.stringify(b.series));
  return labelsOf(b, b.series[0]!);
}

/** The VM id printed in docs/wire-format.md's worked example (the real one is random). */
export const EXAMPLE_VM = "0123456789abcdef";

/** Inputs of docs/wire-format.md's worked example; returns the batch bytes with the random
 * VM id replaced by EXAMPLE_VM (same length, so nothing else moves). */
export async function workedExample(): Promise<Uint8Array> {
  const h = await harness({ aggregator_cluster: AGG_CLUSTER });
  try {
    const vm = h.plugin.workers[0]!;
    runRequest(vm, h.clock, {
      info: { clusterName: "outbound|8080||payments.shop.svc.cluster.local", upstreamLocality: { region: "us-east-1" } },
      requestHeaders: [[":method", "GET"], [":path", "/pay"], [":authority", "payments.shop:8080"], ["x-user-tier", "premium"]],
      responseHeaders: [[":status", "200"], ["server-timing", "app;dur=12.5"]],
      upstreamMs: 20,
    });
    runRequest(vm, h.clock, {
      info: { clusterName: "outbound|8080||payments.shop.svc.cluster.local", upstreamLocality: { region: "us-east-1" } },
      requestHeaders: [[":method", "GET"], [":path", "/pay"], [":authority", "payments.shop:8080"], ["x-user-tier", "premium"]],
      responseHeaders: [[":status", "200"], ["server-timing", "app;dur=31.25"]],
      upstreamMs: 100,
    });
    runRequest(vm, h.clock, {
      info: { clusterName: "outbound|8080||payments.shop.svc.cluster.local", responseFlags: 0x2 },
      requestHeaders: [[":method", "GET"], [":path", "/pay"], [":authority", "payments.shop:8080"]],
      responseHeaders: [[":status", "503"]],
      upstreamMs: 0.3,
    });
    h.clock.advanceMs(1000 - 120.3);
    await h.plugin.settle();
    assert.equal(h.posts.length, 1);
    const body = Buffer.from(h.posts[0]!.body);
    const vmId = decodeBatch(body).vm;
    const at = body.indexOf(Buffer.from(vmId));
    assert.ok(at > 0);
    body.write(EXAMPLE_VM, at, "latin1");
    return new Uint8Array(body);
  } finally {
    h.stop();
  }
}

/** Hex dump, 16 bytes per line, offsets in hex (the worked example's format). */
export function hexDump(b: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 16) {
    const row = [...b.subarray(i, i + 16)].map((x) => x.toString(16).padStart(2, "0")).join(" ");
    lines.push(`${i.toString(16).padStart(4, "0")}  ${row}`);
  }
  return lines.join("\n");
}
