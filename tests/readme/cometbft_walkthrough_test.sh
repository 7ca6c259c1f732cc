#!/usr/bin/env bash
# Runs the README's walkthrough beside CometBFT, command by command as
# written: every ```sh block after a <!-- cometbft-walkthrough --> marker, in
# a fresh directory that looks like the top of the repository (scripts/,
# build/bin, build/engines), on the default ports (9984, 9985, 26656-26658).
#   cometbft_walkthrough_test.sh <repository root> <build dir>
#
# The walkthrough starts scripts/run-with-cometbft.sh (the pinned CometBFT
# v0.38 of scripts/engines.txt) in the background with its output in
# cometbft.log, posts create.json through ledgerd with mode=commit, sends
# direct.json straight to CometBFT with broadcast_tx_commit, and searches
# with tx_search; this test then checks what each step promised.
set -euo pipefail
repo="$1"
build="$2"

# The engine run-with-cometbft.sh runs by default, found as
# scripts/install-engines.sh finds it (NAME GO_MODULE VERSION
# COMMAND_PACKAGE -> build/engines/<command>-<version>/bin/<command>).
engine_name=cometbft-v0.38
read -r _ _ engine_version engine_package < <(awk -v name="$engine_name" '$1 == name' \
  "$repo/scripts/engines.txt")
engine_command=$(basename "$engine_package")
engine="$repo/build/engines/$engine_command-$engine_version/bin/$engine_command"
if [ ! -x "$engine" ]; then
  echo "FAILED: $engine_name is not installed at $engine;" \
       "run scripts/install-engines.sh $engine_name"
  exit 1
fi

work="$(mktemp -d)"
cleanup() {
  # The walkthrough leaves ledgerd and CometBFT running in the background,
  # in its own process group: SIGTERM (CometBFT first, as the script's own
  # stop does), then SIGKILL whatever is left after 20 s.
  if [ -n "${walkthrough_pid:-}" ]; then
    kill -TERM -- "-$walkthrough_pid" 2>/dev/null || true
    for _ in $(seq 200); do
      kill -0 -- "-$walkthrough_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$walkthrough_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/build"
ln -s "$build/bin" "$work/build/bin"
ln -s "$repo/build/engines" "$work/build/engines"
ln -s "$repo/scripts" "$work/scripts"

# The engine's home as run-with-cometbft.sh makes it on a first run
# (data/<engine name>, `<engine> init`), but with its P2P listener on
# loopback: the default 0.0.0.0:26656 collides with any node another test
# runs on some other address with port 26656.
home="$work/data/$engine_name"
"$engine" init --home "$home" > "$work/init.log" 2>&1
sed -i 's|^laddr = "tcp://0.0.0.0:26656"$|laddr = "tcp://127.0.0.1:26656"|' "$home/config/config.toml"
grep -q '^laddr = "tcp://127.0.0.1:26656"$' "$home/config/config.toml" ||
  { echo "FAILED: $home/config/config.toml has no P2P laddr 0.0.0.0:26656 to move"; exit 1; }

awk '/<!-- cometbft-walkthrough -->/ {armed=1; next}
     armed && /^```sh/ {inside=1; next}
     inside && /^```/ {inside=0; armed=0; next}
     inside {print}' "$repo/README.md" > "$work/walkthrough.sh"
[ -s "$work/walkthrough.sh" ] || { echo "no cometbft-walkthrough found in README.md"; exit 1; }

cd "$work"
setsid bash -euo pipefail walkthrough.sh > walkthrough.out 2>&1 &
walkthrough_pid=$!
# The walkthrough's last command returns while the node still runs.
if ! wait "$walkthrough_pid"; then
  echo "--- walkthrough failed; its output:"; cat walkthrough.out
  echo "--- cometbft.log (ledgerd and CometBFT):"; tail -n 60 cometbft.log 2>/dev/null || true
  exit 1
fi
cat walkthrough.out

# What the README promises the reader sees.
failed=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1"; failed=1; fi; }
stored() { curl -sf "http://localhost:9984/api/v1/transactions/$1" > /dev/null; }
found_by_cometbft() {
  curl -s "http://localhost:26657/tx_search?query=%22ledger.id=%27$1%27%22" |
    jq -e '.result.total_count == "1"' > /dev/null
}
create_id="$(jq -r .id create.json)"
direct_id="$(jq -r .id direct.json)"
check "ledgerd runs beside CometBFT ${engine_version#v}" \
  'grep -q "consensus engine connected: version ${engine_version#v}" cometbft.log'
check "the CREATE posted with mode=commit is stored" 'stored "$create_id"'
check "the transaction sent straight to CometBFT is stored" 'stored "$direct_id"'
check "CometBFT committed it (check_tx and tx_result code 0)" \
  'grep -q "\"tx_result\":{\"code\":0" walkthrough.out && ! grep -q "\"code\":[1-9]" walkthrough.out'
check "tx_search finds both by their ledger.id" \
  'found_by_cometbft "$create_id" && found_by_cometbft "$direct_id"'
check "the walkthrough's tx_search found the bicycle's asset" \
  'grep -q "\"total_count\":\"1\"" walkthrough.out'
if [ "$failed" -eq 0 ]; then
  echo "cometbft walkthrough: 1 passed, 0 failed"
else
  echo "--- cometbft.log (ledgerd and CometBFT):"; tail -n 60 cometbft.log || true
  echo "cometbft walkthrough: 0 passed, 1 failed"
  exit 1
fi
