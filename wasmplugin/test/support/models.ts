// apiVersion/kind -> the kubernetes-models class that validates it (real upstream schemas:
// Kubernetes OpenAPI, Istio CRDs, Prometheus Operator CRDs, as packaged by kubernetes-models).
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { WasmPlugin } from "@kubernetes-models/istio/extensions.istio.io/v1alpha1/WasmPlugin";
import { DestinationRule } from "@kubernetes-models/istio/networking.istio.io/v1/DestinationRule";
import { AuthorizationPolicy } from "@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy";
import { PeerAuthentication } from "@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication";
import { Telemetry } from "@kubernetes-models/istio/telemetry.istio.io/v1/Telemetry";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";

type Model = new (data: any) => { validate(): void };

export const MODELS: Record<string, Model> = {
  "v1/ServiceAccount": ServiceAccount,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "extensions.istio.io/v1alpha1/WasmPlugin": WasmPlugin,
  "networking.istio.io/v1/DestinationRule": DestinationRule,
  "security.istio.io/v1/AuthorizationPolicy": AuthorizationPolicy,
  "security.istio.io/v1/PeerAuthentication": PeerAuthentication,
  "telemetry.istio.io/v1/Telemetry": Telemetry,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
  "monitoring.coreos.com/v1/PodMonitor": PodMonitor,
};

/** Kinds kubernetes-models does not ship; validated against CRD schemas kept in wasmplugin/schemas. */
export const CRD_FILES: Record<string, string> = {
  "extensions.istio.io/v1alpha1/TrafficExtension": "trafficextension.v1alpha1.json",
  "extensions.istio.io/v1alpha1/WasmPlugin": "wasmplugin.v1alpha1.json",
  "kiali.io/v1alpha1/Kiali": "kiali.v1alpha1.json",
};

export const typeKey = (r: { apiVersion: string; kind: string }) => `${r.apiVersion}/${r.kind}`;
