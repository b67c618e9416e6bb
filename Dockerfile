# syntax=docker/dockerfile:1
# Multi-stage image: the build stage installs the pinned Deno from npm, builds the WASM from source and assembles the
# same self-contained release as `deno task release`; the final stage holds only that release on Debian slim.
#
#   docker build -t canvss .
#   docker run -p 8000:8000 -v canvss-data:/data canvss                       # the CESC (default)
#   docker run canvss vec --replay /opt/canvss/app/assets/demo/model3_drive.log -u http://cesc:8000 --vin X
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ENV PATH=/src/node_modules/.bin:$PATH
RUN deno task wasm:build \
 && arch="$(uname -m)"; case "$arch" in aarch64) a=arm64 ;; x86_64) a=x64 ;; *) echo "unsupported $arch"; exit 1 ;; esac \
 && deno run -A tools/release.ts --arch "$a" --out /out \
 && mv /out/canvss-*-linux-"$a" /out/canvss

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/canvss --create-home canvss \
 && mkdir -p /data /logs /certs \
 && chown canvss:canvss /data /logs
COPY --from=build /out/canvss /opt/canvss
COPY deploy/entrypoint.sh /usr/local/bin/canvss
ENV DENO_DIR=/var/lib/canvss/deno-cache \
    HEALTH_URL=http://127.0.0.1:8000/health
USER canvss
# Warm Deno's transpile cache so the first start is quick.
RUN /opt/canvss/bin/cesc --help >/dev/null && /opt/canvss/bin/vec --help >/dev/null
VOLUME ["/data", "/logs", "/certs"]
EXPOSE 8000 4443 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/opt/canvss/deno", "eval", "const r = await fetch(Deno.env.get('HEALTH_URL')); Deno.exit(r.ok ? 0 : 1)"]
ENTRYPOINT ["/usr/local/bin/canvss"]
CMD ["cesc"]
