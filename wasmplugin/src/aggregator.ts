// The aggregator's workload: ServiceAccount, Deployment, Service, PodDisruptionBudget,
// HorizontalPodAutoscaler and a DestinationRule. Routes, port and env follow DESIGN.md
// "Aggregator"; the container image is built by wasmplugin/image/aggregator.Dockerfile.
import type { Settings } from "./settings.ts";

const APP = "meshlat-aggregator";
export const selectorLabels = { "app.kubernetes.io/name": APP } as const;
const labels = { ...selectorLabels, "app.kubernetes.io/part-of": "meshlat", app: APP };

export function serviceAccount(s: Settings) {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: s.aggregatorName, namespace: s.namespace, labels },
    automountServiceAccountToken: false,
  };
}

export function deployment(s: Settings) {
  const port = s.aggregatorPort;
  const probe = (path: string, period: number, failures: number) => ({
    httpGet: { path, port: "http" },
    periodSeconds: period,
    timeoutSeconds: 2,
    failureThreshold: failures,
  });
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: s.aggregatorName, namespace: s.namespace, labels },
    spec: {
      // Kept in the manifest so clusters without metrics-server still run 2; the HPA owns it after.
      replicas: 2,
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels,
          annotations: {
            // The sidecar must exist (mTLS + AuthorizationPolicy). Probes are rewritten to
            // pilot-agent's :15020/app-health/... which calls the app itself, so the kubelet
            // passes STRICT mTLS and the AuthorizationPolicy need not allow them.
            "sidecar.istio.io/inject": "true",
            "sidecar.istio.io/rewriteAppHTTPProbers": "true",
          },
        },
        spec: {
          serviceAccountName: s.aggregatorName,
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            fsGroup: 65532,
            seccompProfile: { type: "RuntimeDefault" },
          },
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "kubernetes.io/hostname",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: selectorLabels },
            },
            {
              maxSkew: 1,
              topologyKey: "topology.kubernetes.io/zone",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: selectorLabels },
            },
          ],
          terminationGracePeriodSeconds: 30,
          containers: [
            {
              name: "aggregator",
              image: s.aggregatorImage,
              imagePullPolicy: "IfNotPresent",
              env: [
                { name: "MESHLAT_PORT", value: String(port) },
                { name: "MESHLAT_HOST", value: "0.0.0.0" },
                // Sizing (measured, wasmplugin/README.md "Sizing"): each stored label set costs
                // ~30 KiB of heap and ~25 KiB of /metrics text per scrape (5 histograms x 16
                // buckets x 10 labels); 5000 label sets peaked at ~640 MiB RSS, 1.7 s per scrape.
                // Batches are pinned by workload (DestinationRule consistentHash), so a replica
                // holds only its workloads' label sets: replicas add series capacity too.
                { name: "MESHLAT_MAX_SERIES", value: "4000" },
                // Each replica holds only its workloads: the views must sum all replicas.
                { name: "MESHLAT_PROMETHEUS_URL", value: s.prometheusUrl },
                // Who may report: the caller's SPIFFE ID, from the x-forwarded-client-cert element
                // this pod's sidecar appends (Istio's inbound listener: APPEND_FORWARD with URI),
                // must be in the batch's namespace; PeerAuthentication STRICT makes every caller
                // mTLS. Written out although it is the default, so it cannot be turned off unseen.
                { name: "MESHLAT_CALLER_IDENTITY", value: "namespace" },
                { name: "NODE_OPTIONS", value: "--max-old-space-size=640" },
                ...(s.traceUrlTemplate ? [{ name: "MESHLAT_TRACE_URL_TEMPLATE", value: s.traceUrlTemplate }] : []),
              ],
              ports: [{ name: "http", containerPort: port, protocol: "TCP" }],
              startupProbe: probe("/healthz", 2, 30),
              livenessProbe: probe("/healthz", 10, 3),
              readinessProbe: probe("/readyz", 5, 2),
              resources: {
                requests: { cpu: "250m", memory: "768Mi" },
                limits: { memory: "1Gi" },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
        },
      },
    },
  };
}

export function service(s: Settings) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: s.aggregatorName, namespace: s.namespace, labels },
    spec: {
      selector: selectorLabels,
      ports: [
        {
          // `http-` prefix and appProtocol: Istio treats the port as HTTP (protocol selection),
          // so AuthorizationPolicy can match paths and methods.
          name: "http-meshlat",
          appProtocol: "http",
          port: s.aggregatorPort,
          targetPort: "http",
          protocol: "TCP",
        },
      ],
    },
  };
}

export function podDisruptionBudget(s: Settings) {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: s.aggregatorName, namespace: s.namespace, labels },
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels } },
  };
}

export function horizontalPodAutoscaler(s: Settings) {
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: s.aggregatorName, namespace: s.namespace, labels },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: s.aggregatorName },
      minReplicas: 2,
      // Capacity (bench/fleet.ts, P=2000 W=2 R=1, README "Several aggregator replicas"): one
      // replica took 41,314 series-points per CPU-second, its scrapes included (2026-12-06, on
      // a shared 2-core machine), ~28,900 at the 70 % target. A mesh of N sidecars with 2
      // workers sends N x 2 x 26 per second: 2,000 sidecars need 4 replicas. The ring hash
      // divides the label sets among replicas, so replicas add series room too.
      maxReplicas: 8,
      metrics: [
        { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } },
      ],
      behavior: {
        // Scale down slowly: a ring change moves ~1/R of the workloads, whose label sets stay
        // on the replica they left until series_ttl (10 min).
        scaleDown: { stabilizationWindowSeconds: 600, policies: [{ type: "Pods", value: 1, periodSeconds: 120 }] },
      },
    },
  };
}

/** Traffic policy for the filters' POSTs: a consistent hash, so that each workload's batches
 *  land on one replica and replicas do not multiply series (docs/scale.md). Envoy's
 *  proxy_http_call always hashes on `:authority` (envoy source/extensions/common/wasm/context.cc
 *  Context::httpCall: setHashPolicy on the Host header; source/common/http/async_client_impl.cc
 *  gives options.hash_policy to the stream's route); the filter's default authority starts with
 *  the proxy's workload and namespace. The hash key named here is for ordinary HTTP routes (the
 *  same header); what matters for the filter is that any consistentHash makes istiod set the
 *  cluster's lb_policy to RING_HASH (istio pilot/pkg/networking/core/cluster_traffic_policy.go
 *  ApplyRingHashLoadBalancer). Outlier detection ejects a failing replica: the ring then sends
 *  its workloads to the next replica. */
export function destinationRule(s: Settings) {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: { name: s.aggregatorName, namespace: s.namespace, labels },
    spec: {
      // Short name: resolved in the rule's own namespace, so a kustomize namespace change holds.
      host: s.aggregatorName,
      // Visible to every namespace's sidecars (the filters POST from all of them).
      exportTo: ["*"],
      trafficPolicy: {
        loadBalancer: { consistentHash: { httpHeaderName: ":authority" } },
        tls: { mode: "ISTIO_MUTUAL" },
        connectionPool: { http: { http2MaxRequests: 4096, maxRequestsPerConnection: 0, idleTimeout: "300s" } },
        outlierDetection: { consecutive5xxErrors: 5, interval: "10s", baseEjectionTime: "30s", maxEjectionPercent: 50 },
      },
    },
  };
}
