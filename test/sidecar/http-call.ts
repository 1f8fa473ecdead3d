// Turns the filter's proxy_http_call into a real HTTP request, as Envoy's async client does
// for a cluster (envoy source/extensions/common/wasm/context.cc Context::httpCall): the
// pseudo-headers become the request line and Host, a timeout or a connection error becomes
// a reset for the filter (proxy_on_http_call_response with no headers).
import http from "node:http";
import type { HttpCallHandler, HttpCallResult } from "../host/index.ts";

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

/** A handler that POSTs to whatever base URL `target()` returns at call time (undefined: refused). */
export function httpCallToUrl(target: () => string | undefined): HttpCallHandler {
  return (req) => {
    const base = target();
    if (base === undefined) return { reset: true };
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
        res.once("error", () => finish({ reset: true }));
      },
    );
    // Envoy: 0 means no timeout. A timeout answers 504 from the async client (not a reset).
    const timer = setTimeout(() => {
      req.destroy();
      finish({ headers: [[":status", "504"]], body: new TextEncoder().encode("upstream request timeout") });
    }, timeoutMs > 0 ? timeoutMs : 2 ** 31 - 1);
    timer.unref();
    req.once("error", () => finish({ reset: true }));
    req.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });
}
