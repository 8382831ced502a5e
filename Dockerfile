# One Croupier node per container. Scale by running more replicas behind a load balancer.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
# No HOST: operator mode (OPERATOR_KEY set) binds all interfaces by itself, while a container
# started without a key stays on loopback instead of serving dev mode to the network.
ENV NODE_ENV=production PORT=8080 DATA_DIR=/data
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY config ./config
COPY src ./src
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# SIGTERM drains: readiness turns 503, sockets close with 1012, the ledger is flushed. The node
# handles signals itself from its first line on, so it needs no init process as PID 1.
STOPSIGNAL SIGTERM
# Asks the address the node is bound to: loopback when HOST is unset or all interfaces.
HEALTHCHECK --interval=10s --timeout=2s CMD node -e "const h=process.env.HOST;const a=!h||h==='0.0.0.0'||h==='::'||h==='[::]'?'127.0.0.1':h.includes(':')&&!h.startsWith('[')?'['+h+']':h;fetch('http://'+a+':'+process.env.PORT+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["./node_modules/.bin/bun", "src/main.ts"]
