# The kubeburst image. Build it from a clone:
#   docker build -t kubeburst .            (base: the official Node.js 24 slim image)
#   make image                             (here, without any registry: see scripts/image.sh)
# NODE_IMAGE must hold node and npm in /usr/local/bin, as the official Node.js images do.
ARG NODE_IMAGE=docker.io/library/node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency would download a second Node binary; the image has one.
# The optional secret "npm-ca" is a CA bundle for a TLS-intercepting proxy between npm and its registry.
RUN --mount=type=secret,id=npm-ca,required=false \
    NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
WORKDIR /app
COPY --from=build /build/package.json ./
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist
COPY bin ./bin
ENV NODE_ENV=production
# Any non-root UID works: kubeburst writes no file (logs go to stderr), so the root filesystem can
# be read-only. Node runs as PID 1 without a shell in between; `kubeburst run` handles SIGTERM and
# SIGINT itself (a clean stop, exit 0). Node reaps its own children (exec credential plugins);
# a plugin that leaves orphans of its own needs an init (`docker run --init`, or tini).
USER 65532:65532
ENTRYPOINT ["node", "/app/bin/kubeburst.js"]
CMD ["--help"]
