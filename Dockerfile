# Gatehouse operator image: build with the dev dependencies, ship only the built output and the
# production dependencies, run as a non-root user on a read-only root filesystem.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
COPY crds ./crds
RUN npx tsc -p tsconfig.json

FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
COPY crds ./crds
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["node", "dist/src/main.js"]
