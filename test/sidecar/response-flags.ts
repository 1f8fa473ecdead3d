// Envoy's legacy response-flag bits (`response.flags`), for the upstream failures the local
// sidecar can produce, and the status Envoy answers with in each case.
// Source: envoyproxy/envoy source/common/stream_info/utility.h (ResponseFlagUtils) and
// test/common/stream_info/stream_info_impl_test.cc; see also the router's local replies in
// source/common/router/router.cc (503 on connection failure / no healthy upstream, 504 on
// upstream request timeout), and response.code_details from
// source/common/stream_info (ResponseCodeDetails: no_healthy_upstream, response_timeout,
// upstream_reset_before_response_started{<reason>}, route_not_found).
export const ResponseFlag = {
  NoHealthyUpstream: 0x2, // UH
  UpstreamRequestTimeout: 0x4, // UT
  UpstreamRemoteReset: 0x10, // UR
  UpstreamConnectionFailure: 0x20, // UF
  UpstreamConnectionTermination: 0x40, // UC
  NoRouteFound: 0x100, // NR
  DownstreamConnectionTermination: 0x4000, // DC
} as const;

export interface LocalReply {
  flags: number;
  status: number;
  body: string;
  /** response.code_details, as Envoy sets it. */
  details: string;
}

export const LOCAL_REPLIES = {
  noHealthyUpstream: { flags: ResponseFlag.NoHealthyUpstream, status: 503, body: "no healthy upstream", details: "no_healthy_upstream" },
  timeout: { flags: ResponseFlag.UpstreamRequestTimeout, status: 504, body: "upstream request timeout", details: "response_timeout" },
  connectFailure: {
    flags: ResponseFlag.UpstreamConnectionFailure,
    status: 503,
    body: "upstream connect error or disconnect/reset before headers. reset reason: connection failure",
    details: "upstream_reset_before_response_started{connection_failure}",
  },
  connectionTermination: {
    flags: ResponseFlag.UpstreamConnectionTermination,
    status: 503,
    body: "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
    details: "upstream_reset_before_response_started{connection_termination}",
  },
  noRoute: { flags: ResponseFlag.NoRouteFound, status: 404, body: "", details: "route_not_found" },
} satisfies Record<string, LocalReply>;

/** Maps a Node socket error on the upstream request to the local reply Envoy would send. */
export function replyForUpstreamError(err: NodeJS.ErrnoException): LocalReply {
  if (err.code === "ECONNREFUSED" || err.code === "EHOSTUNREACH" || err.code === "ENETUNREACH") return LOCAL_REPLIES.connectFailure;
  return LOCAL_REPLIES.connectionTermination;
}
