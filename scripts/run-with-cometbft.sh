#!/usr/bin/env bash
# Runs ledgerd beside a local CometBFT v0.38 node, without Docker: the same
# pair as docker-compose.yml, for a user with a `cometbft` binary on PATH.
#
#   scripts/run-with-cometbft.sh
#
# First run: creates a single-validator CometBFT home (cometbft init). Then
# starts ledgerd (ABCI over gRPC) and `cometbft node` pointed at it; Ctrl-C
# stops both, CometBFT first. Settings, all optional, from the environment:
#   LEDGERD            ledgerd binary           (default build/bin/ledgerd)
#   CMTHOME            CometBFT home            (default data/cometbft)
#   LEDGERD_DATA_DIR   ledgerd's store          (default data/ledgerd)
#   LEDGERD_ABCI_ADDR  ABCI address, host:port  (default 127.0.0.1:26658)
#   LEDGERD_LOG_LEVEL  debug|info|warn|error    (read by ledgerd itself)
# CometBFT's RPC listens on its configured address (127.0.0.1:26657 by
# default): submit with
#   curl 'http://localhost:26657/broadcast_tx_commit?tx=0x<hex of the tx JSON>'
set -euo pipefail
cd "$(dirname "$0")/.."

LEDGERD=${LEDGERD:-build/bin/ledgerd}
CMTHOME=${CMTHOME:-$PWD/data/cometbft}
export LEDGERD_DATA_DIR=${LEDGERD_DATA_DIR:-$PWD/data/ledgerd}
export LEDGERD_ABCI_ADDR=${LEDGERD_ABCI_ADDR:-127.0.0.1:26658}

if ! command -v cometbft >/dev/null 2>&1; then
  echo "run-with-cometbft: no cometbft on PATH; install CometBFT v0.38.x, or use docker-compose" >&2
  exit 1
fi
if [ ! -x "$LEDGERD" ]; then
  echo "run-with-cometbft: $LEDGERD not found; build it first:" >&2
  echo "  cmake -S . -B build -G Ninja && cmake --build build --target ledgerd" >&2
  exit 1
fi
cometbft_version=$(cometbft version 2>/dev/null || true)
case "$cometbft_version" in
  0.38.*) ;;
  *) echo "run-with-cometbft: cometbft reports version '$cometbft_version'; ledgerd speaks" \
          "ABCI 2.0 as in CometBFT v0.38.x" >&2 ;;
esac

if [ ! -f "$CMTHOME/config/genesis.json" ]; then
  cometbft init --home "$CMTHOME"
fi

ledgerd_pid=""
cometbft_pid=""
stop() {
  trap - INT TERM EXIT
  # CometBFT first, so it never sees ledgerd vanish in the middle of a block.
  if [ -n "$cometbft_pid" ]; then kill -TERM "$cometbft_pid" 2>/dev/null || true; fi
  if [ -n "$cometbft_pid" ]; then wait "$cometbft_pid" 2>/dev/null || true; fi
  if [ -n "$ledgerd_pid" ]; then kill -TERM "$ledgerd_pid" 2>/dev/null || true; fi
  if [ -n "$ledgerd_pid" ]; then wait "$ledgerd_pid" 2>/dev/null || true; fi
}
trap stop INT TERM EXIT

"$LEDGERD" &
ledgerd_pid=$!
# The gRPC address is host:port without tcp:// (since v0.38.13 CometBFT's gRPC
# client rejects that form). CometBFT retries Echo until ledgerd answers.
cometbft node --home "$CMTHOME" --abci=grpc --proxy_app="$LEDGERD_ABCI_ADDR" \
  --consensus.create_empty_blocks=false &
cometbft_pid=$!

# Run until either process ends (or Ctrl-C); then stop the other.
status=0
wait -n "$ledgerd_pid" "$cometbft_pid" || status=$?
stop
exit "$status"
