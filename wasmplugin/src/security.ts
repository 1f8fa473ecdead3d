// mTLS and access control for the aggregator (security.istio.io/v1).
import { selectorLabels } from "./aggregator.ts";
import type { Settings } from "./settings.ts";

export function peerAuthentication(s: Settings) {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
    metadata: { name: s.aggregatorName, namespace: s.namespace },
    spec: { selector: { matchLabels: selectorLabels }, mtls: { mode: "STRICT" } },
  };
}

/** ALLOW policy: once it applies, anything not matched is denied (Istio authorization
 *  semantics). Batches: any workload with a mesh identity — the filters' proxy_http_call goes
 *  through the cluster's transport socket, so it carries the sending sidecar's SPIFFE identity.
 *  Metrics: only Prometheus' identity (it scrapes with Istio certs, see the ServiceMonitor).
 *  Read API (/api/v1/*): any mesh workload (e.g. Grafana in the mesh); humans use
 *  `kubectl port-forward`, which reaches the app over the pod's loopback, not the sidecar.
 *  Health probes need no rule: Istio rewrites HTTP probes so the kubelet calls pilot-agent,
 *  which forwards to the app itself (https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/). */
export function authorizationPolicy(s: Settings) {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: { name: s.aggregatorName, namespace: s.namespace },
    spec: {
      selector: { matchLabels: selectorLabels },
      action: "ALLOW",
      rules: [
        // Any mesh identity may POST batches; the aggregator itself binds each batch to its
        // caller (caller_identity=namespace: the SPIFFE ID's namespace must be the batch's).
        {
          from: [{ source: { principals: ["*"] } }],
          to: [{ operation: { methods: ["POST"], paths: [s.plugin.aggregator_path], ports: [String(s.aggregatorPort)] } }],
        },
        {
          from: [{ source: { principals: [s.prometheusPrincipal] } }],
          to: [{ operation: { methods: ["GET"], paths: ["/metrics"], ports: [String(s.aggregatorPort)] } }],
        },
        {
          from: [{ source: { principals: ["*"] } }],
          to: [{ operation: { methods: ["GET"], paths: ["/api/v1/*"], ports: [String(s.aggregatorPort)] } }],
        },
      ],
    },
  };
}
