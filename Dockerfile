# carebell gateway image: MQTT on 1883, HTTP (API, console, MQTT over
# WebSocket at /mqtt, /metrics) on 8080, data in the /data volume.
#   docker build -t carebell .
#   docker run -p 1883:1883 -p 8080:8080 -v carebell-data:/data carebell

# --- build: native better-sqlite3, TypeScript → dist/, production dependencies only
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# --- runtime: no compiler, no sources, not root
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    CAREBELL_DATA_DIR=/data \
    CAREBELL_MQTT_PORT=1883 \
    CAREBELL_HTTP_PORT=8080
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY device-profiles ./device-profiles
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 1883 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.CAREBELL_HTTP_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js", "start"]
