# CloudPhoenix controller image: `docker build -t cloudphoenix .`
# Runs `phoenix run --config /etc/phoenix/phoenix.yaml` (deploy/helm/cloudphoenix mounts the config).
# Runbook steps that call outside tools (pg_dump/pg_restore, terraform/tofu, helm) need those tools:
# build your own image FROM this one and add them.

# Build: TypeScript to dist/, with the dev dependencies.
FROM node:24-slim AS build
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary fits.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
# The one build command: compiled controller plus dashboard assets, without test fixtures.
RUN npm run build

# Production dependencies only (the lab's s3rver included), compiled for the same base image.
FROM build AS deps
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN ln -s /app/dist/cli/main.js /usr/local/bin/phoenix \
  && mkdir -p /var/lib/phoenix /etc/phoenix && chown node:node /var/lib/phoenix
USER node
EXPOSE 8080
VOLUME /var/lib/phoenix
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["run", "--config", "/etc/phoenix/phoenix.yaml", "--log-format", "json"]
