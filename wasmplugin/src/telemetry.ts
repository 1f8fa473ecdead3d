// Optional companion: puts `user_tier` and `region` into Istio's own metrics
// (istio_requests_total, istio_request_duration_milliseconds) with the Telemetry API.
// Why it looks the way it does (istio/api telemetry/v1alpha1/telemetry.proto tagOverrides):
//  - values are CEL evaluated by istio.stats; the Mixer-era default `a | 'b'` is not CEL, fails
//    to parse, and the new tag is then silently skipped;
//  - a missing header is an evaluation error, which istio.stats reports as `unknown` — so no
//    default is needed for absence;
//  - the header is client-controlled: an allow-list keeps the label bounded (any other value
//    becomes `other`), the same rule the filter applies (compare is case-sensitive here);
//  - the proxy's region is `xds.node.locality.region` (the bare `node` attribute is gone in
//    Envoy >= 1.33); it is an empty string when Istio has no locality (deploy guide, Region).
import type { Settings } from "./settings.ts";

function celString(v: string): string {
  return `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

export function tierExpression(s: Settings): string {
  const h = `request.headers[${celString(s.plugin.tier_header)}]`;
  const list = `[${s.plugin.tiers.map(celString).join(", ")}]`;
  return `${h} in ${list} ? ${h} : 'other'`;
}

export function regionExpression(s: Settings): string {
  return `xds.node.locality.region != '' ? xds.node.locality.region : ${celString(s.plugin.region_default)}`;
}

export function telemetry(s: Settings) {
  const tagOverrides = {
    user_tier: { operation: "UPSERT", value: tierExpression(s) },
    region: { operation: "UPSERT", value: regionExpression(s) },
  };
  return {
    apiVersion: "telemetry.istio.io/v1",
    kind: "Telemetry",
    // In the root namespace without selector: mesh-wide default for Istio's metrics.
    metadata: { name: "meshlat-tags", namespace: s.namespace },
    spec: {
      metrics: [
        {
          providers: [{ name: "prometheus" }],
          overrides: [
            { match: { metric: "REQUEST_COUNT", mode: "CLIENT_AND_SERVER" }, tagOverrides },
            { match: { metric: "REQUEST_DURATION", mode: "CLIENT_AND_SERVER" }, tagOverrides },
          ],
        },
      ],
    },
  };
}
