// Who is reporting: the caller's mesh identity from x-forwarded-client-cert, as the sidecar in
// front of the aggregator sets it. Istio's inbound HTTP connection manager uses
// forward_client_cert_details APPEND_FORWARD with set_current_client_cert_details Subject, URI
// and DNS (istio/istio pilot/pkg/networking/core/v1alpha3/listener_inbound.go,
// buildSidecarInboundHTTPOpts). Envoy then, for an mTLS connection, appends one element
// `By=<its own URI SAN>;Hash=<peer cert sha256>;Subject="…";URI=<peer URI SAN>;DNS=…` to whatever
// the request already carried, and removes the header when the connection is not mTLS
// (envoyproxy/envoy source/common/http/conn_manager_utility.cc, mutateXfccRequestHeader). Any
// earlier element is the caller's own text: only the last one was written by our sidecar.

/** One XFCC element: its keys (case-insensitive, as Envoy's docs) → values in order. */
export type XfccElement = ReadonlyMap<string, readonly string[]>;

/**
 * Splits the header into elements (`,`) of `key=value` pairs (`;`); a value may be
 * double-quoted with `\` escapes, and then holds `,` `;` `=` literally. Returns null when the
 * header is malformed (an unterminated quote, a pair without `=`): the caller's prefix could
 * otherwise shift where our sidecar's element seems to start.
 */
export function parseXfcc(header: string): XfccElement[] | null {
  const elements: XfccElement[] = [];
  let pairs = new Map<string, string[]>();
  let i = 0;
  const n = header.length;
  for (;;) {
    // key
    let eq = i;
    while (eq < n && header[eq] !== "=" && header[eq] !== ";" && header[eq] !== ",") eq++;
    if (eq >= n || header[eq] !== "=") return null;
    const key = header.slice(i, eq).trim().toLowerCase();
    if (key === "") return null;
    i = eq + 1;
    // value
    let value = "";
    while (i < n && header[i] === " ") i++;
    if (header[i] === '"') {
      i++;
      for (;;) {
        if (i >= n) return null;
        const c = header[i]!;
        if (c === "\\" && i + 1 < n) { value += header[i + 1]; i += 2; continue; }
        if (c === '"') { i++; break; }
        value += c;
        i++;
      }
      while (i < n && header[i] === " ") i++;
      if (i < n && header[i] !== ";" && header[i] !== ",") return null;
    } else {
      const start = i;
      while (i < n && header[i] !== ";" && header[i] !== ",") {
        if (header[i] === '"') return null;
        i++;
      }
      value = header.slice(start, i).trim();
    }
    const list = pairs.get(key);
    if (list) list.push(value); else pairs.set(key, [value]);
    if (i >= n) { elements.push(pairs); return elements; }
    if (header[i] === ",") { elements.push(pairs); pairs = new Map(); }
    i++;
  }
}

const SPIFFE_NS = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/;

export interface CallerIdentity { readonly uri: string; readonly namespace: string; readonly serviceAccount: string }

/**
 * The caller's identity from the element our own sidecar appended (the last one), or why there
 * is none. `trustedBy`, when set, must equal that element's `By` (the aggregator's own SPIFFE
 * ID): it proves the element came from the sidecar in front of us.
 */
export function callerIdentity(header: string | string[] | undefined, trustedBy = ""): CallerIdentity | string {
  if (header === undefined) return "no x-forwarded-client-cert: the request did not come over mTLS through the aggregator's sidecar";
  // Node joins repeated headers with ", ": the same list of elements.
  const text = Array.isArray(header) ? header.join(",") : header;
  const elements = parseXfcc(text);
  if (!elements) return "x-forwarded-client-cert is malformed";
  const last = elements[elements.length - 1]!;
  if (trustedBy && last.get("by")?.[0] !== trustedBy) return "the last x-forwarded-client-cert element was not written by the aggregator's sidecar (By)";
  const uris = last.get("uri") ?? [];
  const uri = uris.find((u) => SPIFFE_NS.test(u));
  if (!uri) return "the caller's certificate has no SPIFFE URI of the form spiffe://<trust domain>/ns/<namespace>/sa/<service account>";
  const m = SPIFFE_NS.exec(uri)!;
  return { uri, namespace: decodeURIComponent(m[1]!), serviceAccount: decodeURIComponent(m[2]!) };
}
