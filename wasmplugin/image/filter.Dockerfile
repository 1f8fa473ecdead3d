# The meshlat filter as an OCI image Istio's WasmPlugin/TrafficExtension can pull.
# Layout: Istio's "compat" Wasm image variant — the last (here: only) layer is a tar.gz
# holding a file named plugin.wasm (istio/istio pkg/wasm/imagefetcher.go, following
# https://github.com/solo-io/wasm/blob/master/spec/spec-compat.md). Docker writes the layer as
# application/vnd.docker.image.rootfs.diff.tar.gzip, buildah --format oci as
# application/vnd.oci.image.layer.v1.tar+gzip; Istio accepts both. Keep gzip (no zstd).
#
# Build context: filter/build (after `npm run build`), e.g.
#   docker buildx build --provenance=false --sbom=false --platform linux/amd64 \
#     -f wasmplugin/image/filter.Dockerfile -t $REGISTRY/meshlat-filter:$VERSION --push filter/build
# --provenance/--sbom off and one platform: Istio reads an image manifest, and an index with
# attestations would make the digest you pin differ from the manifest Istio verifies.
FROM scratch
LABEL org.opencontainers.image.title="meshlat-filter" \
      org.opencontainers.image.description="meshlat Envoy Wasm filter (proxy-wasm ABI 0.2.1)" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY meshlat.wasm /plugin.wasm
