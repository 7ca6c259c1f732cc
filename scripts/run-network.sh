#!/usr/bin/env bash
# Runs a network of N validators on this machine: N consensus engines and N
# ledgerd, node i (i = 0..N-1) on its own loopback address 127.0.0.(i+1) with
# the standard ports.
#
#   scripts/run-network.sh [N] [--engine cometbft-v0.38|cometbft-v1.0|tendermint-v0.34] [--init-only]
#
# N defaults to 4, the engine to cometbft-v0.38 (the pinned one of
# scripts/engines.txt, installed by scripts/install-engines.sh when missing).
# The first run creates the homes with `<engine> testnet` under data/network/
# (node0 .. nodeN-1: genesis, validator and node keys, config); later runs
# continue the same chain. On node i, address A = 127.0.0.(i+1):
#   engine   P2P A:26656, RPC A:26657, proxy_app A:26658 over gRPC
#   ledgerd  ABCI A:26658, HTTP API A:9984, stream A:9985, store nodeI/ledgerd
# Ctrl-C (SIGINT or SIGTERM) stops the engines first, then every ledgerd.
# --init-only creates the homes (if missing) and exits.
# Settings, all optional, from the environment:
#   ENGINE           an engine binary of your own instead of the pinned one
#   LEDGERD          ledgerd binary                    (default build/bin/ledgerd)
#   NETWORK_DIR      where the homes are               (default data/network)
#   NETWORK_FIRST_IP address of node 0; node i adds i to its last number
#                    (default 127.0.0.1)
#   TIMEOUT_COMMIT   the engines' timeout_commit when the homes are created
#                    (default: the engine's own, 1s)
#   LEDGERD_LOG_LEVEL  debug|info|warn|error           (read by ledgerd itself)
#   LEDGERD_SNAPSHOT_INTERVAL, LEDGERD_SNAPSHOT_KEEP   state-sync snapshots every N
#                    heights, K kept (ledgerd's defaults 1000 and 2; docs/network.md)
# Logs: NETWORK_DIR/nodeI/engine.log and NETWORK_DIR/nodeI/ledgerd.log.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: scripts/run-network.sh [N] [--engine cometbft-v0.38|cometbft-v1.0|tendermint-v0.34] [--init-only]" >&2
  exit 2
}

count=4
engine_name=cometbft-v0.38
init_only=false
while [ $# -gt 0 ]; do
  case "$1" in
    --engine)
      [ $# -ge 2 ] || usage
      engine_name=$2
      shift 2
      ;;
    --init-only) init_only=true; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    [0-9]*) count=$1; shift ;;
    *) usage ;;
  esac
done
case "$count" in
  '' | *[!0-9]*) usage ;;
esac
if [ "$count" -lt 1 ] || [ "$count" -gt 200 ]; then
  echo "run-network: N must be between 1 and 200 (got $count)" >&2
  exit 2
fi

LEDGERD=${LEDGERD:-build/bin/ledgerd}
NETWORK_DIR=${NETWORK_DIR:-data/network}
NETWORK_FIRST_IP=${NETWORK_FIRST_IP:-127.0.0.1}
mkdir -p "$NETWORK_DIR"
NETWORK_DIR=$(cd "$NETWORK_DIR" && pwd)

if [ -z "${ENGINE:-}" ]; then
  ENGINE=$(scripts/install-engines.sh --path "$engine_name")
fi
if ! command -v "$ENGINE" >/dev/null 2>&1; then
  echo "run-network: ENGINE=$ENGINE is not an executable" >&2
  exit 1
fi
if [ "$init_only" = false ] && [ ! -x "$LEDGERD" ]; then
  echo "run-network: $LEDGERD not found; build it first:" >&2
  echo "  cmake -S . -B build -G Ninja && cmake --build build --target ledgerd ledgerctl" >&2
  exit 1
fi

ip_prefix=${NETWORK_FIRST_IP%.*}
first_host=${NETWORK_FIRST_IP##*.}
if [ $((first_host + count - 1)) -gt 254 ]; then
  echo "run-network: $count nodes from $NETWORK_FIRST_IP do not fit in $ip_prefix.0/24" >&2
  exit 2
fi
node_ip() { echo "$ip_prefix.$((first_host + $1))"; }

# Tendermint v0.34 takes the gRPC address as tcp://host:port; CometBFT v0.37
# and later take host:port (v0.38.13 and later reject tcp:// and retry Echo
# forever).
engine_version=$("$ENGINE" version 2>/dev/null | head -n 1 || true)
engine_version=${engine_version#v}
case "$engine_version" in
  0.34.*) proxy_scheme="tcp://" ;;
  *) proxy_scheme="" ;;
esac

# Sets KEY = VALUE (VALUE as TOML, e.g. "\"text\"" or true) on the first line
# that starts with "KEY = " after the line [SECTION] (or from the top when
# SECTION is empty).
set_toml() {
  local file=$1 section=$2 key=$3 value=$4
  awk -v section="$section" -v key="$key" -v value="$value" '
    BEGIN { in_section = (section == "") }
    /^\[/ { in_section = ($0 == "[" section "]") }
    !done && in_section && index($0, key " = ") == 1 { print key " = " value; done = 1; next }
    { print }
    END { if (!done) exit 3 }
  ' "$file" >"$file.tmp" || { echo "run-network: $file has no $key in [$section]" >&2; rm -f "$file.tmp"; exit 1; }
  mv "$file.tmp" "$file"
}

if [ ! -f "$NETWORK_DIR/node0/config/genesis.json" ]; then
  echo "run-network: creating $count validator homes in $NETWORK_DIR ($ENGINE testnet)" >&2
  "$ENGINE" testnet --v "$count" --o "$NETWORK_DIR" --starting-ip-address "$(node_ip 0)" \
    --populate-persistent-peers >/dev/null
  for ((i = 0; i < count; i++)); do
    ip=$(node_ip "$i")
    config=$NETWORK_DIR/node$i/config/config.toml
    set_toml "$config" "" proxy_app "\"$proxy_scheme$ip:26658\""
    set_toml "$config" "" moniker "\"node$i\""
    set_toml "$config" "" abci "\"grpc\""
    set_toml "$config" rpc laddr "\"tcp://$ip:26657\""
    set_toml "$config" p2p laddr "\"tcp://$ip:26656\""
    set_toml "$config" p2p addr_book_strict false
    set_toml "$config" p2p allow_duplicate_ip true
    set_toml "$config" consensus create_empty_blocks false
    if [ -n "${TIMEOUT_COMMIT:-}" ]; then
      set_toml "$config" consensus timeout_commit "\"$TIMEOUT_COMMIT\""
    fi
  done
fi

# The homes decide the size of the network once they exist.
existing=0
while [ -f "$NETWORK_DIR/node$existing/config/genesis.json" ]; do existing=$((existing + 1)); done
validators=$(grep -c '"pub_key"' "$NETWORK_DIR/node0/config/genesis.json" || true)
if [ "$validators" != "$count" ]; then
  echo "run-network: $NETWORK_DIR holds a network of $validators validators, not $count;" \
       "run with N=$validators or remove $NETWORK_DIR to start a new chain" >&2
  exit 1
fi
if [ "$existing" -lt "$count" ]; then
  echo "run-network: $NETWORK_DIR has $existing node homes, the genesis names $count validators" >&2
  exit 1
fi
if [ "$init_only" = true ]; then
  exit 0
fi

ledgerd_pids=()
engine_pids=()
stopping=false
stop() {
  trap - INT TERM EXIT
  [ "$stopping" = true ] && return
  stopping=true
  # The engines first, so none sees its ledgerd vanish in the middle of a block.
  local pid
  for pid in "${engine_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${engine_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for pid in "${ledgerd_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${ledgerd_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop INT TERM EXIT

for ((i = 0; i < count; i++)); do
  ip=$(node_ip "$i")
  home=$NETWORK_DIR/node$i
  "$LEDGERD" --data-dir "$home/ledgerd" --abci-addr "$ip:26658" --http-addr "$ip:9984" \
    --ws-addr "$ip:9985" --comet-rpc "http://$ip:26657" >>"$home/ledgerd.log" 2>&1 &
  ledgerd_pids+=($!)
done
for ((i = 0; i < count; i++)); do
  home=$NETWORK_DIR/node$i
  "$ENGINE" node --home "$home" >>"$home/engine.log" 2>&1 &
  engine_pids+=($!)
done

echo "run-network: $count validators, $ENGINE $engine_version, homes in $NETWORK_DIR" >&2
for ((i = 0; i < count; i++)); do
  ip=$(node_ip "$i")
  echo "node$i  HTTP API http://$ip:9984/api/v1/  stream ws://$ip:9985/api/v1/streams/valid_transactions  RPC http://$ip:26657"
done
echo "run-network: logs in $NETWORK_DIR/node*/{engine,ledgerd}.log; Ctrl-C stops the network" >&2

# Run until any process ends (or Ctrl-C); then stop the others.
status=0
wait -n "${ledgerd_pids[@]}" "${engine_pids[@]}" || status=$?
if [ "$stopping" = false ]; then
  echo "run-network: a process of the network exited (status $status); stopping the others" >&2
fi
stop
exit "$status"
