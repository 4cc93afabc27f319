# Capsicum: one image for every node role (`capsicum start --role ...`).
# The server runs its TypeScript sources through tsx, a runtime dependency; only the dashboard is bundled (esbuild).
FROM node:20-bookworm

WORKDIR /app
ENV NODE_ENV=production \
    DATA_DIR=/data \
    PORT=8080

# better-sqlite3 compiles here (the full bookworm image has python3, make and g++).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The sources (see .dockerignore for what stays out: tests, benches, local data).
COPY . .
# The dashboard's bundle (npm ci's prepare ran before the sources were here).
RUN npm run build:console

RUN mkdir -p /data /secrets && chown node:node /data /secrets
USER node
VOLUME ["/data"]
EXPOSE 8080 1883

HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# A young generation of 64 MB semi-spaces: see "Where the time of a reading goes" in README.md
ENTRYPOINT ["node", "--max-semi-space-size=64", "adapters/cli/bin.js"]
CMD ["start"]
