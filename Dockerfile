# syntax=docker/dockerfile:1
# One image for every role: the API (default command), the worker, the assignment service and the
# migrations; docker-compose.yml picks the role by the command:
#   node --import tsx cmd/api.ts | cmd/worker.ts | cmd/assignment.ts | cmd/migrate.ts --seed
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# Build: every dependency, then the worker's workflow bundle (webpack), so that no worker replica
# spends its start-up bundling and every replica runs byte-identical workflow code.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run -s build:bundle -- --out /app/dist/workflow-bundle.js \
 && npm run -s build:bundle -- --tracing --out /app/dist/workflow-bundle-tracing.js \
 && npm run -s build:web -- /app/dist/web

# Runtime: production dependencies only, the sources (run by tsx) and the prebuilt bundle.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY . .
COPY --from=build /app/dist/workflow-bundle.js /app/dist/workflow-bundle-tracing.js /app/dist/
# The web app, bundled ahead of time (the API serves it at /; the image's files are read-only).
COPY --from=build /app/dist/web /app/dist/web
ENV WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js
# Used instead when OTEL_EXPORTER_OTLP_ENDPOINT turns tracing on (the workflow interceptors are in it).
ENV WORKFLOW_TRACING_BUNDLE_PATH=/app/dist/workflow-bundle-tracing.js
# The files stay root's and read-only to the processes; they run as the image's unprivileged user.
USER node
EXPOSE 8088 8089
CMD ["node", "--import", "tsx", "cmd/api.ts"]
