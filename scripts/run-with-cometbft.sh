#!/usr/bin/env bash
# Runs ledgerd beside a real consensus engine, without Docker: the same pair
# as docker-compose.yml.
#
#   scripts/run-with-cometbft.sh [--engine cometbft-v0.38|cometbft-v1.0|tendermint-v0.34]
#
# The engine (default cometbft-v0.38, CometBFT v0.38.25) is the pinned one of
# scripts/engines.txt, installed with `go install` by scripts/install-engines.sh
# into build/engines/. First run: creates a single-validator home for it
# (`<engine> init`). Then starts ledgerd (ABCI over gRPC; it serves every one
# of these engine lines on the same port) and `<engine> node` pointed at it;
# Ctrl-C stops both, the engine first. Settings, all optional, from the
# environment:
#   ENGINE             an engine binary of your own instead of the pinned one
#   LEDGERD            ledgerd binary           (default build/bin/ledgerd)
#   CMTHOME            engine home              (default data/<engine name>)
#   LEDGERD_DATA_DIR   ledgerd's store          (default data/ledgerd)
#   LEDGERD_ABCI_ADDR  ABCI address, host:port  (default 127.0.0.1:26658)
#   LEDGERD_LOG_LEVEL  debug|info|warn|error    (read by ledgerd itself)
# The engine's RPC listens on its configured address (127.0.0.1:26657 by
# default): submit with
#   curl 'http://localhost:26657/broadcast_tx_commit?tx=0x<hex of the tx JSON>'
set -euo pipefail
cd "$(dirname "$0")/.."

LEDGERD=${LEDGERD:-build/bin/ledgerd}
export LEDGERD_DATA_DIR=${LEDGERD_DATA_DIR:-$PWD/data/ledgerd}
export LEDGERD_ABCI_ADDR=${LEDGERD_ABCI_ADDR:-127.0.0.1:26658}

engine_name=cometbft-v0.38
case "${1:-}" in
  "") ;;
  --engine)
    [ $# -eq 2 ] || { echo "usage: scripts/run-with-cometbft.sh [--engine NAME]" >&2; exit 2; }
    engine_name=$2
    ;;
  *)
    echo "usage: scripts/run-with-cometbft.sh [--engine NAME]" >&2
    exit 2
    ;;
esac
if [ -z "${ENGINE:-}" ]; then
  ENGINE=$(scripts/install-engines.sh --path "$engine_name")
fi
if ! command -v "$ENGINE" >/dev/null 2>&1; then
  echo "run-with-cometbft: ENGINE=$ENGINE is not an executable" >&2
  exit 1
fi
if [ ! -x "$LEDGERD" ]; then
  echo "run-with-cometbft: $LEDGERD not found; build it first:" >&2
  echo "  cmake -S . -B build -G Ninja && cmake --build build --target ledgerd" >&2
  exit 1
fi
CMTHOME=${CMTHOME:-$PWD/data/$engine_name}

# The gRPC address form depends on the engine line. Tendermint v0.34 takes
# tcp://host:port; CometBFT takes host:port (since v0.38.13 its gRPC client
# rejects the tcp:// form and retries Echo forever). Either way the engine
# retries Echo until ledgerd answers.
engine_version=$("$ENGINE" version 2>/dev/null | head -n 1 || true)
engine_version=${engine_version#v}
case "$engine_version" in
  0.34.*) proxy_app="tcp://$LEDGERD_ABCI_ADDR" ;;
  0.37.* | 0.38.* | 1.0.*) proxy_app="$LEDGERD_ABCI_ADDR" ;;
  *)
    echo "run-with-cometbft: $ENGINE reports version '$engine_version'; ledgerd speaks ABCI" \
         "as Tendermint v0.34.x and CometBFT v0.37.x, v0.38.x and v1.0.x do" >&2
    proxy_app="$LEDGERD_ABCI_ADDR"
    ;;
esac

if [ ! -f "$CMTHOME/config/genesis.json" ]; then
  "$ENGINE" init --home "$CMTHOME"
fi

ledgerd_pid=""
engine_pid=""
stop() {
  trap - INT TERM EXIT
  # The engine first, so it never sees ledgerd vanish in the middle of a block.
  if [ -n "$engine_pid" ]; then kill -TERM "$engine_pid" 2>/dev/null || true; fi
  if [ -n "$engine_pid" ]; then wait "$engine_pid" 2>/dev/null || true; fi
  if [ -n "$ledgerd_pid" ]; then kill -TERM "$ledgerd_pid" 2>/dev/null || true; fi
  if [ -n "$ledgerd_pid" ]; then wait "$ledgerd_pid" 2>/dev/null || true; fi
}
trap stop INT TERM EXIT

"$LEDGERD" &
ledgerd_pid=$!
echo "run-with-cometbft: $ENGINE $engine_version, --proxy_app=$proxy_app" >&2
"$ENGINE" node --home "$CMTHOME" --abci=grpc --proxy_app="$proxy_app" \
  --consensus.create_empty_blocks=false &
engine_pid=$!

# Run until either process ends (or Ctrl-C); then stop the other.
status=0
wait -n "$ledgerd_pid" "$engine_pid" || status=$?
stop
exit "$status"
