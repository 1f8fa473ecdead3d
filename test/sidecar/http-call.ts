// Turns the filter's proxy_http_call into a real HTTP request, as Envoy's async client does
// for a cluster (envoy source/extensions/common/wasm/context.cc Context::httpCall): the
// pseudo-headers become the request line and Host. What the filter sees follows Envoy's
// router (source/common/router/router.cc): no endpoint at all (EDS empty: the aggregator is
// not running) is an inline "no healthy upstream", i.e. INTERNAL_FAILURE and no callback; a
// connection that fails before a response is the router's 503 local reply; a timeout its 504;
// only a stream broken after the response started is a reset (callback with no headers).
import http from "node:http";
import type { HttpCallHandler, HttpCallResult } from "../host/index.ts";
import { HashRing, authorityOf } from "./ring-hash.ts";

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

/** A handler that POSTs to whatever base URL `target()` returns at call time (undefined: refused). */
export function httpCallToUrl(target: () => string | undefined): HttpCallHandler {
  return (req) => {
    const base = target();
    if (base === undefined) return { unavailable: "no_healthy_upstream" };
    return send(new URL(base), req.headers, req.body, req.timeoutMs);
  };
}

/**
 * A cluster of several aggregator replicas behind a consistent-hash DestinationRule: Envoy's
 * httpCall hashes on :authority (ring-hash.ts), skipping replicas `up` says are down (ejected or
 * not ready); none up is the inline "no healthy upstream".
 */
export function httpCallToRing(urls: readonly string[], up: (url: string) => boolean = () => true): HttpCallHandler {
  const ring = new HashRing(urls, (u) => u);
  return (req) => {
    const base = ring.pick(authorityOf(req.headers), up);
    if (base === undefined) return { unavailable: "no_healthy_upstream" };
    return send(new URL(base), req.headers, req.body, req.timeoutMs);
  };
}

function send(base: URL, headers: [string, string][], body: Uint8Array, timeoutMs: number): Promise<HttpCallResult> {
  let method = "GET";
  let path = "/";
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of headers) {
    if (k === ":method") method = v;
    else if (k === ":path") path = v;
    else if (k === ":authority") out.host = v;
    else if (!k.startsWith(":")) out[k] = v;
  }
  if (body.length > 0) out["content-length"] = body.length;
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: HttpCallResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = http.request(
      { host: base.hostname, port: base.port, path, method, headers: out, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.once("end", () => {
          const h: [string, string][] = [[":status", String(res.statusCode ?? 0)]];
          for (let i = 0; i < res.rawHeaders.length; i += 2) h.push([res.rawHeaders[i].toLowerCase(), res.rawHeaders[i + 1]]);
          finish({ headers: h, body: new Uint8Array(Buffer.concat(chunks)) });
        });
        res.once("error", () => finish({ reset: true })); // broken after the response started
      },
    );
    // Envoy: 0 means no timeout. A timeout answers 504 from the async client (not a reset).
    const timer = setTimeout(() => {
      req.destroy();
      finish({ headers: [[":status", "504"]], body: new TextEncoder().encode("upstream request timeout") });
    }, timeoutMs > 0 ? timeoutMs : 2 ** 31 - 1);
    timer.unref();
    // No response yet: the router answers 503 (upstream connect error ... connection failure).
    req.once("error", () =>
      finish({
        headers: [[":status", "503"], ["content-type", "text/plain"]],
        body: new TextEncoder().encode("upstream connect error or disconnect/reset before headers. reset reason: connection failure"),
      }),
    );
    req.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });
}
