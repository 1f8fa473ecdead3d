# syntax=docker/dockerfile:1
# The meshlat aggregator: Node 20, non-root, works with a read-only root filesystem.
# Build context: the repository root, e.g.
#   docker buildx build -f wasmplugin/image/aggregator.Dockerfile -t $REGISTRY/meshlat-aggregator:$VERSION --push .

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY aggregator/src aggregator/src
# One ESM file from the TypeScript sources (esbuild ships with tsx); npm packages stay external.
RUN node_modules/.bin/esbuild aggregator/src/main.ts --bundle --platform=node --format=esm --target=node20 --packages=external --outfile=dist/aggregator.mjs
# Runtime dependencies only (fastify, @fastify/static, prom-client, msgpackr, cytoscape for the page).
RUN rm -rf node_modules && npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Distroless: no shell, no package manager; the `nonroot` tag runs as uid/gid 65532, matching
# the Deployment's securityContext. Nothing is written at runtime (the Deployment mounts /tmp).
FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/aggregator.mjs ./aggregator.mjs
# The web page's files, beside the bundle (aggregator/src/routes/ui.ts looks there).
COPY aggregator/ui ./ui
ENV NODE_ENV=production MESHLAT_PORT=9464 MESHLAT_HOST=0.0.0.0
EXPOSE 9464
USER 65532:65532
# The base image's entrypoint is node.
CMD ["aggregator.mjs"]
