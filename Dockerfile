# syntax=docker/dockerfile:1
# One image for every role: the API (default command), the worker, the assignment service, the
# codec endpoint and the migrations; docker-compose.yml and the Kubernetes manifests pick the role
# by the command:
#   node --enable-source-maps dist/cmd/api.mjs | worker.mjs | assignment.mjs | codec.mjs | migrate.mjs [--seed]
# It runs compiled JavaScript on production dependencies only, as the unprivileged `node` user,
# and needs no writable path: it runs with a read-only root file system and no tmpfs.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# Build: every dependency, then what the runtime runs, so that no container spends its start-up
# compiling or bundling and every replica runs byte-identical code:
# - the worker's workflow bundles (webpack), without and with the tracing interceptors;
# - the web app (esbuild), which the API serves at /;
# - each entry point compiled to one ES module (npm run build:dist: cmd/run.mjs's esbuild compile,
#   the project's own files inline, packages imported from node_modules), with its source map.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm 10 can end `npm ci` with "Exit handler never called!" and status 0, the tree half installed
# (seen on this project's machine); `npm ls` fails on any package missing.
RUN npm ci --no-audit --no-fund && npm ls --all >/dev/null
COPY . .
RUN npm run -s build:bundle -- --out /app/dist/workflow-bundle.js \
 && npm run -s build:bundle -- --tracing --out /app/dist/workflow-bundle-tracing.js \
 && npm run -s build:web -- /app/dist/web \
 && npm run -s build:dist

# Runtime: production dependencies and the build's output; no TypeScript sources, no tsx, esbuild,
# embedded PostgreSQL or test server (development dependencies).
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# `npm ls` as in the build stage. @temporalio/core-bridge ships its native library for five platforms (about 140 MB) and its Rust
# sources; only this platform's library is ever loaded (its own getPrebuiltTargetName picks it), so
# the others go, and loading it here proves the one kept works on this base image. npm leaves the
# scope folders of the development dependencies it skipped behind, empty: they go too.
RUN npm ci --omit=dev --no-audit --no-fund && npm ls --omit=dev --all >/dev/null \
 && bridge=node_modules/@temporalio/core-bridge \
 && keep="$(node -p "require('./$bridge/common.js').getPrebuiltTargetName()")" \
 && find "$bridge/releases" -mindepth 1 -maxdepth 1 ! -name "$keep" -exec rm -rf {} + \
 && rm -rf "$bridge/sdk-core" "$bridge/src" "$bridge/bridge-macros" \
 && node -e "require('@temporalio/core-bridge')" \
 && find node_modules -mindepth 1 -maxdepth 1 -type d -empty -delete \
 && npm cache clean --force && rm -rf /root/.npm
COPY --from=build /app/dist/cmd /app/dist/cmd
COPY --from=build /app/dist/workflow-bundle.js /app/dist/workflow-bundle-tracing.js /app/dist/
# The web app, bundled ahead of time; without the web/ sources beside it the API serves it as built.
COPY --from=build /app/dist/web /app/dist/web
ENV WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js
# Used instead when OTEL_EXPORTER_OTLP_ENDPOINT turns tracing on (the workflow interceptors are in it).
ENV WORKFLOW_TRACING_BUNDLE_PATH=/app/dist/workflow-bundle-tracing.js
# The files stay root's and read-only to the processes; they run as the image's unprivileged user.
USER node
EXPOSE 8088 8089
# Stack traces point at the TypeScript sources (the maps carry them).
CMD ["node", "--enable-source-maps", "dist/cmd/api.mjs"]
