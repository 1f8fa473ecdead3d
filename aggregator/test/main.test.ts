// The real entry point: startup error code, listen, readiness, graceful SIGTERM.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";
import { buildBatch, requests } from "../../test/support/batch-builder.ts";
import { poll, until } from "../../test/support/poll.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

test("a bad flag is a clear startup error with code AGG_ERR_CONFIG and exit status 2", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, "--port", "99999"], { encoding: "utf8", timeout: 30_000 });
  assert.equal(r.status, 2);
  const line = JSON.parse(r.stderr.trim().split("\n").pop()!);
  assert.equal(line.code, "AGG_ERR_CONFIG");
  assert.equal(line.path, "port");
});

test("npm start's entry listens, ingests, and exits 0 on SIGTERM", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "--host", "127.0.0.1", "--port", "0", "--caller-identity", "off", "--drain-period-ms", "0"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, MESHLAT_LOG_LEVEL: "info" } });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let buf = "";
      const deadline = setTimeout(() => reject(new Error(`no listen line: ${buf}`)), 30_000);
      child.stdout.on("data", (d: Buffer) => {
        buf += d.toString();
        const m = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(buf);
        if (m) { clearTimeout(deadline); resolve(Number(m[1])); }
      });
      child.on("exit", (c) => reject(new Error(`exited ${c}: ${buf}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const r = await fetch(`${base}/v1/batches`, { method: "POST", headers: { "content-type": "application/msgpack" }, body: buildBatch({ series: [requests(1, { requestMs: 1 })] }) });
    assert.equal(r.status, 204);
    const exited = new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});

test("SIGTERM finishes an in-flight ingest, stops accepting, then exits 0", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "--host", "127.0.0.1", "--port", "0", "--caller-identity", "off", "--drain-period-ms", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  const sock = new net.Socket();
  try {
    let log = "";
    child.stdout.on("data", (d: Buffer) => { log += d.toString(); });
    const logged = async (re: RegExp) => (await poll(() => re.exec(log), (m) => m !== null, { timeoutMs: 30_000, what: () => `${re} in: ${log}` }))!;
    const port = Number((await logged(/listening at http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    const body = Buffer.from(buildBatch({ series: [requests(2, { requestMs: 3 })] }));
    await new Promise<void>((r) => sock.connect(port, "127.0.0.1", () => r()));
    let response = "";
    sock.on("data", (d: Buffer) => { response += d.toString(); });
    sock.write(`POST /v1/batches HTTP/1.1\r\nhost: x\r\ncontent-type: application/msgpack\r\ncontent-length: ${body.length}\r\n\r\n`);
    sock.write(body.subarray(0, 10));
    // The request is routed (pino's "incoming request" line) before the signal arrives.
    await logged(/"url":"\/v1\/batches"[^\n]*"msg":"incoming request"|"msg":"incoming request"[^\n]*"url":"\/v1\/batches"/);
    const exited = new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
    child.kill("SIGTERM");
    // The listener closes: new connections are refused (or told 503 while it drains).
    await until(() => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 503, () => true), { timeoutMs: 10_000, what: "the listener to close after SIGTERM" });
    sock.write(body.subarray(10));
    await until(() => /\r\n\r\n/.test(response), { timeoutMs: 10_000, lastOnTimeout: true });
    assert.match(response, /^HTTP\/1\.1 204/);
    assert.equal(await exited, 0, log);
  } finally {
    sock.destroy();
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});

test("SIGTERM drains: ingest answers 503 at once, /metrics still shows what was acknowledged, then exit 0", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "--host", "127.0.0.1", "--port", "0", "--caller-identity", "off", "--drain-period-ms", "5000"], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    let log = "";
    child.stdout.on("data", (d: Buffer) => { log += d.toString(); });
    const deadline = Date.now() + 30_000;
    while (!/listening at http:\/\/127\.0\.0\.1:(\d+)/.test(log)) {
      assert.ok(Date.now() < deadline, `no listen line: ${log}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const base = `http://127.0.0.1:${/listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(log)![1]}`;
    const batch = (seq: number) => ({ method: "POST", headers: { "content-type": "application/msgpack" }, body: buildBatch({ seq, series: [requests(41, { requestMs: 3 })] }) });
    assert.equal((await fetch(`${base}/v1/batches`, batch(1))).status, 204);
    const exited = new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
    child.kill("SIGTERM");
    // Poll (with a deadline) until the signal has been handled: readiness goes 503 first.
    const until = Date.now() + 10_000;
    while ((await fetch(`${base}/readyz`)).status !== 503) {
      assert.ok(Date.now() < until, "readyz still 200 after SIGTERM");
      await new Promise((r) => setTimeout(r, 10));
    }
    const r = await fetch(`${base}/v1/batches`, batch(2));
    assert.equal(r.status, 503);
    assert.equal(((await r.json()) as { code: string }).code, "AGG_ERR_SHUTTING_DOWN");
    const m = await fetch(`${base}/metrics`);
    assert.equal(m.status, 200);
    assert.match(await m.text(), /^meshlat_requests_total\{[^}]*\} 41$/m);
    assert.equal(await exited, 0, log);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});
