# ledgerd container image: a multi-stage build on Debian 12.
#
#   docker build -t ledgerd .
#   docker run --rm ledgerd --help
#
# The build stage compiles with the same Debian packages as
# scripts/install-deps.sh (nothing is downloaded by the build itself); the
# runtime stage holds only the shared libraries and runs as an unprivileged
# user. Every flag is set through its LEDGERD_* environment variable.

FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc \
      libboost1.81-dev nlohmann-json3-dev libleveldb-dev libsnappy-dev \
      libsodium-dev libssl-dev libjemalloc-dev libgtest-dev libgmock-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLEDGERD_BUILD_BENCH=OFF \
 && cmake --build /build --target ledgerd ledgerctl

FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libleveldb1d libsnappy1v5 libsodium23 libssl3 libjemalloc2 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin ledgerd \
 && mkdir -p /data \
 && chown ledgerd:ledgerd /data
COPY --from=build /build/bin/ledgerd /build/bin/ledgerctl /usr/local/bin/

USER ledgerd
WORKDIR /data
# Container-only defaults (on a host every port binds to 127.0.0.1): inside
# the container each port listens on all interfaces, so that the HTTP API
# and the event stream can be published and the cometbft container can
# reach the ABCI port. Publish 9984 and 9985; keep 26658 on the compose
# network, because whoever reaches it drives consensus.
ENV LEDGERD_DATA_DIR=/data \
    LEDGERD_ABCI_ADDR=0.0.0.0:26658 \
    LEDGERD_HTTP_ADDR=0.0.0.0:9984 \
    LEDGERD_WS_ADDR=0.0.0.0:9985 \
    LEDGERD_LOG_LEVEL=info
VOLUME ["/data"]
EXPOSE 9984 9985 26658
# ledgerd shuts down cleanly on SIGTERM (servers stopped, store closed).
STOPSIGNAL SIGTERM
ENTRYPOINT ["ledgerd"]
