# Optimove ⇄ GatewayAPI SMS bridge.
# Build:  docker build -t optimove-gatewayapi-bridge .
# Run:    docker compose -f docker/compose.yaml up -d   (reads ./.env; see .env.example)

# ---- build: compile TypeScript and the better-sqlite3 native addon ----
FROM node:24-bookworm-slim AS build

# Toolchain for node-gyp, used when better-sqlite3 has no prebuilt binary to fetch.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so that a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev

# ---- runtime: the same base, so the native addon matches its Node ABI and glibc ----
FROM node:24-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# The SQLite database lives on a volume the unprivileged `node` user (uid 1000) can write.
RUN mkdir -p /app/data \
 && chown node:node /app/data

USER node

ENV DATABASE_URL=sqlite:/app/data/bridge.db PORT=3000 HOST=0.0.0.0
# 3000: the webhooks. 3001: the admin listener (/metrics, /ready), on loopback unless ADMIN_HOST says otherwise.
EXPOSE 3000 3001
VOLUME /app/data

# The slim image has no curl: ask Node itself. The public /health answers as soon as the process listens.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Node runs as PID 1 and handles SIGTERM itself (graceful drain in src/main.ts).
CMD ["node", "dist/main.js"]
