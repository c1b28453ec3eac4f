# Gatehouse operator image. Three stages: compile with the dev dependencies, install only the
# production dependencies, then a runtime stage with just those and the compiled src/ output.
# Node.js 24 is the Active LTS line (maintained until April 2028); override NODE_IMAGE to follow
# the next LTS, or pin a digest (node:24-bookworm-slim@sha256:...) for reproducible builds.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm's settings (registry, CA) can come in as build secrets `npmrc` and `npm_ca` (scripts/image.sh
# passes the machine's); a secret is mounted for this step only and never lands in a layer.
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \
    --mount=type=secret,id=npm_ca,target=/run/secrets/npm_ca \
    npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Only src/ is compiled (tsconfig.build.json); tests and benchmarks never enter the image.
RUN npx tsc -p tsconfig.build.json

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \
    --mount=type=secret,id=npm_ca,target=/run/secrets/npm_ca \
    npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
# The CRD YAML is the schema contract the operator validates against (src/api/crds.ts finds it
# next to dist/).
COPY crds ./crds
# The web console's page, script and style (served from disk by dist/src/console/server.js).
COPY src/console/public ./src/console/public
# A numeric non-root user (the "nonroot" uid of distroless images), so Kubernetes can verify
# runAsNonRoot without a passwd lookup. Nothing is written at run time; the chart mounts the root
# filesystem read-only with an emptyDir at /tmp.
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["--config", "/etc/gatehouse/config.yaml"]
