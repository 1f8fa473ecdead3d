// Public API of the proxy-wasm host standing in for Envoy (see README.md).
export { Status, MapType, BufferType, LogLevel, MetricType, type LogLevelName } from "./abi.ts";
export { ManualClock, RealClock, type Clock, type TimerHandle } from "./clock.ts";
export { HostError, type HostErrorCode } from "./errors.ts";
export { HeaderMap } from "./header-map.ts";
export { loadModule, checkModule, ENVOY_IMPORTS } from "./load-module.ts";
export { encodePairs, decodePairs, type Pair } from "./pairs.ts";
export { Plugin, startPlugin } from "./plugin.ts";
export { prop, Typed, Message, LookupMap, serializeValue, immutableValue, type PropertyValue } from "./property-value.ts";
export { runRequest, type RequestSpec } from "./run-request.ts";
export { SharedState } from "./shared-state.ts";
export { HttpStream, FilterStatus, type LocalReply } from "./stream.ts";
export { ENVOY_VERSIONS } from "./types.ts";
export type { EnvoyVersion, HttpCallHandler, HttpCallRequest, HttpCallResult, LogLine, NodeInfo, PluginOptions, StreamInfo } from "./types.ts";
export { Vm, type VmRole, type MetricState } from "./vm.ts";
export {
  istioClusterMetadata,
  istioPeerValue,
  downstreamPeerProperties,
  type IstioPeer,
  type IstioPeerFormat,
  type IstioService,
} from "./istio.ts";
