# Elenchus production image: Debian bookworm, Kore from Debian, non-root.
#   docker build -t elenchus .
#   docker run -e DATABASE_URL=... -e JWT_SECRET=... -p 8080:8080 elenchus
# TLS is terminated by the reverse proxy in front (see docker-compose.yml
# and conf/nginx-site.conf); Kore serves plain HTTP.

FROM debian:bookworm AS build
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends kore build-essential pkg-config jq \
        libpq-dev libssl-dev libcurl4-openssl-dev libjansson-dev \
        libcrypt-dev libpoppler-glib-dev libzip-dev libxml2-dev \
        nodejs npm ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make clean && make build

FROM debian:bookworm-slim
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends kore libpq5 libssl3 libcurl4 libjansson4 \
        libcrypt1 libpoppler-glib8 libzip4 libxml2 postgresql-client \
        ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /app --shell /usr/sbin/nologin elenchus
WORKDIR /app
COPY --from=build /src/build/elenchus.so /src/build/elenchus-extract \
    /src/build/openapi.json build/
COPY --from=build /src/build/elenchus-jobs* build/
COPY --from=build /src/build/swagger-ui build/swagger-ui
COPY kore.conf ./
COPY assets assets
COPY sql sql
COPY scripts scripts
RUN mkdir -p /app/run && chown elenchus /app/run
USER elenchus
ENV ENVIRONMENT=production HTTP_HOST=0.0.0.0 HTTP_PORT=8080 \
    TRUSTED_PROXIES=172.16.0.0/12,10.0.0.0/8 WORKERS=2
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${HTTP_PORT}/live" >/dev/null || exit 1
# Migrations: `docker run --rm elenchus scripts/migrate.sh` (or the
# compose service "migrate"); then serve.
CMD ["scripts/serve.sh", "/app/run"]
