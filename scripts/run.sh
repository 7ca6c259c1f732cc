#!/usr/bin/env bash
# Installs dependencies, builds ledgerd, and starts it in --dev mode: a single
# node that makes its own blocks, with its data in ./data (or $LEDGERD_DATA).
# Extra arguments go to ledgerd (see build/bin/ledgerd --help). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --run
# Only the two binaries: no test suites or benchmarks, whose libraries
# install-deps.sh --run leaves out (scripts/test.sh turns them back on).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLEDGERD_BUILD_TESTS=OFF \
  -DLEDGERD_BUILD_BENCH=OFF
cmake --build build -j "$(nproc)" --target ledgerd ledgerctl

data_dir="${LEDGERD_DATA:-./data}"
http_addr="${LEDGERD_HTTP_ADDR:-127.0.0.1:9984}"
ws_addr="${LEDGERD_WS_ADDR:-127.0.0.1:9985}"
cat <<INFO

ledgerd --dev, data in ${data_dir}
  HTTP API:      http://${http_addr}/api/v1/
  event stream:  ws://${ws_addr}/api/v1/streams/valid_transactions
  ledgerctl:     build/bin/ledgerctl --help

INFO
exec build/bin/ledgerd --dev --data-dir "$data_dir" --http-addr "$http_addr" --ws-addr "$ws_addr" "$@"
