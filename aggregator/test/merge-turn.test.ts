import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { MergeTurn, SLICE_MS } from "../src/ingest/merge-turn.ts";
import { buildBatch, requests } from "../../test/support/batch-builder.ts";
import { parseExposition, sample, testApp } from "./helpers.ts";

test("the work submitted in one turn runs later, together and in order; each answer follows its own work", async () => {
  const log: string[] = [];
  const turn = new MergeTurn((x: string) => { log.push(`work ${x}`); });
  const answers = ["a", "b", "c"].map((x) => turn.submit(x).then(() => log.push(`answer ${x}`)));
  assert.deepEqual(log, [], "nothing runs while the turn's requests are still coming");
  await Promise.all(answers);
  assert.deepEqual(log, ["work a", "work b", "work c", "answer a", "answer b", "answer c"]);
  await turn.submit("d");
  assert.deepEqual(log.slice(6), ["work d"], "a later turn runs on its own");
});

test("work that throws rejects its own answer only; the rest of the turn still runs", async () => {
  const ran: number[] = [];
  const turn = new MergeTurn((x: number) => { if (x === 2) throw new Error("bad batch"); ran.push(x); });
  const r = await Promise.allSettled([1, 2, 3].map((x) => turn.submit(x)));
  assert.deepEqual(r.map((s) => s.status), ["fulfilled", "rejected", "fulfilled"]);
  assert.equal((r[1] as PromiseRejectedResult).reason.message, "bad batch");
  assert.deepEqual(ran, [1, 3]);
});

test("batches posted at once: each 204 means merged, a bad one among them is refused alone", async () => {
  const a = testApp();
  try {
    const good = (seq: number) => a.post(buildBatch({ vm: "00000000000000d1", seq, series: [requests(2, { requestMs: 3 })] }));
    const bad = a.post(Buffer.from([0xc1]));
    const rs = await Promise.all([good(1), bad, good(2), good(3)]);
    assert.deepEqual(rs.map((r) => r.statusCode), [204, 400, 204, 204]);
    const p = parseExposition(await a.scrape());
    assert.equal(sample(p, "meshlat_aggregator_batches_total", { result: "accepted" }), 3);
    assert.equal(sample(p, "meshlat_aggregator_batch_errors_total", { reason: "schema" }), 1);
  } finally { await a.fastify.close(); }
});

test("a turn's work yields to the event loop every SLICE_MS: other callbacks run between its slices", async () => {
  const ran: number[] = [];
  let seenBetween = -1;
  const turn = new MergeTurn((x: number) => {
    // Queued during the first slice: it runs once that slice has given the loop back.
    if (x === 0) setImmediate(() => { seenBetween = ran.length; });
    const end = performance.now() + 2;
    while (performance.now() < end);
    ran.push(x);
  });
  const n = 3 * Math.ceil(SLICE_MS / 2) + 3;
  await Promise.all(Array.from({ length: n }, (_, k) => turn.submit(k)));
  assert.ok(seenBetween > 0 && seenBetween < n, `${seenBetween} of ${n} ran before the other callback`);
  assert.ok(seenBetween <= Math.ceil(SLICE_MS / 2) + 1, `a slice ran ${seenBetween} items of 2 ms`);
  assert.deepEqual(ran, Array.from({ length: n }, (_, k) => k), "in order, each once");
});

/**
 * Posts every body on a connection of its own, the whole requests written together (as a fleet's
 * flushes arrive), to an app listening on `port`; resolves with each whole answer (head, and an
 * error's JSON body).
 */
async function postTogether(port: number, bodies: readonly Uint8Array[]): Promise<string[]> {
  const socks: net.Socket[] = [];
  try {
    for (let k = 0; k < bodies.length; k++) {
      const s = net.connect(port, "127.0.0.1");
      await new Promise((r) => s.once("connect", r));
      socks.push(s);
    }
    const whole = (g: string) => g.includes("\r\n\r\n") && (g.startsWith("HTTP/1.1 204") || g.endsWith("}"));
    const answers = socks.map((s) => new Promise<string>((resolve) => { let got = ""; s.on("data", (d: Buffer) => { got += d.toString("latin1"); if (whole(got)) resolve(got); }); }));
    socks.forEach((s, k) => s.write(Buffer.concat([Buffer.from(`POST /v1/batches HTTP/1.1\r\nhost: x\r\ncontent-type: application/msgpack\r\ncontent-length: ${bodies[k]!.length}\r\n\r\n`), bodies[k]!])));
    return await Promise.all(answers);
  } finally {
    for (const s of socks) s.destroy();
  }
}

async function listening(overrides: Parameters<typeof testApp>[0]): Promise<{ a: ReturnType<typeof testApp>; port: number }> {
  const a = testApp(overrides);
  await a.fastify.listen({ host: "127.0.0.1", port: 0 });
  return { a, port: (a.fastify.server.address() as { port: number }).port };
}

test("bodies complete in one turn do not count against max_concurrent_ingest while they wait for their merge (a burst of senders is absorbed, not refused)", async () => {
  const { a, port } = await listening({ max_concurrent_ingest: 2 });
  try {
    // Eight senders whose whole requests arrive together, as a fleet's flushes do.
    const bodies = Array.from({ length: 8 }, (_, k) => buildBatch({ vm: "00000000000000d2", seq: k + 1, series: [requests(1, { requestMs: 3 })] }));
    assert.deepEqual((await postTogether(port, bodies)).map((g) => g.slice(9, 12)), Array(8).fill("204"));
    assert.equal(sample(parseExposition(await a.scrape()), "meshlat_aggregator_batches_total", { result: "accepted" }), 8);
  } finally {
    await a.fastify.close();
  }
});

test("received batches waiting for their merge are bounded (4 x max_concurrent_ingest): past it, 429 with Retry-After", async () => {
  const { a, port } = await listening({ max_concurrent_ingest: 1, shed_retry_after_s: 2 });
  try {
    const bodies = Array.from({ length: 24 }, (_, k) => buildBatch({ vm: "00000000000000d3", seq: k + 1, series: [requests(1, { requestMs: 3 })] }));
    const got = await postTogether(port, bodies);
    const shed = got.filter((g) => g.startsWith("HTTP/1.1 429"));
    assert.ok(got.filter((g) => g.startsWith("HTTP/1.1 204")).length >= 4, "a turn's worth accepted");
    assert.ok(shed.length > 0, "the rest refused");
    assert.match(shed[0]!, /retry-after: 2/i);
    assert.match(shed[0]!, /waiting for their merge/);
  } finally {
    await a.fastify.close();
  }
});
