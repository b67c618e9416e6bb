# Minimal image for now; the packaging issue makes it multi-stage and non-root.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ENV PATH=/app/node_modules/.bin:$PATH
RUN deno task wasm:build
CMD ["deno", "task", "demo"]
