# docker/catalog.Dockerfile - the catalog-service image. Build context: the repository root.
#   podman build --pull=never --network host -f docker/catalog.Dockerfile -t bookstore/catalog-service:0.1.0 .
#   docker build -f docker/catalog.Dockerfile -t bookstore/catalog-service:0.1.0 .
# Stage 1 builds the one executable on Debian with the -dev packages; stage 2 is `scratch` holding
# only the stripped binary, its shared-library closure (computed with ldd), CA certificates, the name
# resolution files, a passwd/group with the numeric user 10001, and db/migrations at /migrations.
# No shell at run time. `catalog-service --migrate` applies the migrations and exits.

# The first two layers are identical in both Dockerfiles so a second build reuses them.
FROM docker.io/library/debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake pkg-config binutils \
      libmicrohttpd-dev libpq-dev libjansson-dev libcurl4-openssl-dev libcjose-dev libssl-dev \
      check ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . /src
# The git commit `--version` prints (.git is not in the build context): --build-arg
# BOOKSTORE_GIT_COMMIT=$(git rev-parse --short=12 HEAD); "unknown" without it.
ARG BOOKSTORE_GIT_COMMIT=
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release >/dev/null \
 && cmake --build /build --target catalog-service -j"$(nproc)" \
 && sh /src/docker/rootfs.sh /build/catalog-service/catalog-service /rootfs

FROM scratch
COPY --from=build /rootfs/ /
USER 10001:10001
WORKDIR /
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/catalog-service"]
LABEL org.opencontainers.image.title="catalog-service" \
      org.opencontainers.image.source="bookstore" \
      org.opencontainers.image.version="0.1.0"
