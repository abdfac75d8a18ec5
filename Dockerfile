# syntax=docker/dockerfile:1
#
# The production image of `rotator`: the compiled worker, its production dependencies and tini, on Node 24.
#
#   docker build -t rotator .
#   docker run --read-only --tmpfs /tmp -p 8080:8080 \
#     -v "$PWD/rotator.yaml:/etc/rotator/rotator.yaml:ro" rotator
#
# test/integration/image-start.test.ts runs this file's final stage (its ENTRYPOINT and CMD, ENV, WORKDIR and
# USER) directly on the test machine from a read-only copy of what the stages below put in the image.

# Node 24 LTS, pinned to a full version so that a rebuild never changes the runtime behind our back. The
# release pipeline should pin the digest as well (node:24.22.3-bookworm-slim@sha256:…): it cannot be resolved
# without a registry, and a tag can be moved, a digest cannot.
ARG NODE_VERSION=24.22.3

# --- build: compile TypeScript to dist/ ---------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
# .npmrc carries ignore-scripts=true: no dependency runs an install script, here or on a laptop.
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci --no-audit --no-fund
COPY tsconfig*.json ./
COPY src ./src
RUN npm run build

# --- production dependencies only: what dist/ imports at run time -------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS prod-deps
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci --omit=dev --no-audit --no-fund

# --- tini: a minimal init for PID 1 -------------------------------------------------------------------------
# Debian's package ships a statically linked build (/usr/bin/tini-static): the final stage copies that one, so
# it needs no library, and no apt state, from the final image.
FROM node:${NODE_VERSION}-bookworm-slim AS tini
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*

# --- the image ----------------------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim

# The repository's address is the release pipeline's to give (--build-arg SOURCE_URL=…); it is not written
# down anywhere in the checkout. "UNLICENSED" as in package.json: proprietary, no licence granted.
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="rotator" \
  org.opencontainers.image.description="Rotates the client secrets of the Entra ID secondary applications that Qualys Azure connectors use, unattended, on BullMQ and Redis." \
  org.opencontainers.image.source="${SOURCE_URL}" \
  org.opencontainers.image.licenses="UNLICENSED"

# HOME=/tmp: the only writable place when the root filesystem is read-only (the Helm chart mounts an emptyDir
# there); npm and Node's own caches look under HOME. NODE_ENV=production for the libraries that read it.
ENV NODE_ENV=production HOME=/tmp

WORKDIR /app

# Everything below is owned by root and not writable by the user the process runs as: the worker writes nothing
# outside /tmp (its state lives in Redis, its logs go to stdout), so the pod can run with
# readOnlyRootFilesystem: true and a compromised process cannot change its own code.
COPY --from=tini /usr/bin/tini-static /usr/bin/tini
COPY --from=prod-deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# src/cli/version.ts reads ../../package.json relative to dist/cli/.
COPY package.json ./

# A numeric user and group, so that Kubernetes' runAsNonRoot can verify them without an /etc/passwd entry.
USER 10001:10001

# The health, readiness and metrics server (http.port in the configuration).
EXPOSE 8080

# tini runs as PID 1, not node: the kernel applies no default action to a signal PID 1 has no handler for (a
# SIGTERM before node installs its own would be ignored), and PID 1 must reap orphaned children. tini forwards
# SIGTERM to node, which stops the queue worker within worker.shutdownTimeout and exits 0; tini reaps and
# exits with node's code. `node` is found on PATH, where the base image installs it (/usr/local/bin/node).
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli/main.js"]
# The Helm chart mounts the configuration file here; secrets come as mounted files or ROTATOR_* variables.
CMD ["worker", "--config", "/etc/rotator/rotator.yaml"]
