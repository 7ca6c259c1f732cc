#!/usr/bin/env bash
# Runs the README's walkthrough, command by command as written, against a
# fresh `ledgerd --dev` on the default ports.
#   walkthrough_test.sh <repository root> <build dir>
set -euo pipefail
repo="$1"
build="$2"

work="$(mktemp -d)"
cleanup() {
  # The walkthrough leaves watchers running in the background, in its own
  # process group.
  [ -n "${walkthrough_pid:-}" ] && kill -- "-$walkthrough_pid" 2>/dev/null
  [ -n "${node_pid:-}" ] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/build"
ln -s "$build/bin" "$work/build/bin"

# Every ```sh block that follows a <!-- walkthrough --> marker, in order.
awk '/<!-- walkthrough -->/ {armed=1; next}
     armed && /^```sh/ {inside=1; next}
     inside && /^```/ {inside=0; armed=0; next}
     inside {print}' "$repo/README.md" > "$work/walkthrough.sh"
[ -s "$work/walkthrough.sh" ] || { echo "no walkthrough found in README.md"; exit 1; }

"$build/bin/ledgerd" --dev --data-dir "$work/data" > "$work/ledgerd.log" 2>&1 &
node_pid=$!
for _ in $(seq 100); do
  curl -sf http://localhost:9984/health > /dev/null && break
  sleep 0.1
done

cd "$work"
setsid bash -euo pipefail walkthrough.sh > walkthrough.out 2>&1 &
walkthrough_pid=$!
if ! wait "$walkthrough_pid"; then
  echo "--- walkthrough failed; its output:"; cat walkthrough.out
  echo "--- ledgerd log:"; cat ledgerd.log
  exit 1
fi
cat walkthrough.out

# What the README promises the reader sees.
transfer_id="$(jq -r .id transfer.json)"
check() { if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1"; failed=1; fi; }
failed=0
check "the stream carried both transactions, once each" \
  '[ "$(grep -c "\"transaction_id\"" stream.log)" -eq 2 ] && [ "$(grep -c "$transfer_id" stream.log)" -eq 1 ]'
check "wsdump received the transfer" '[ "$(grep -c "$transfer_id" wsdump.log)" -eq 1 ]'
check "the repeated post was refused as a duplicate" 'grep -q "Invalid transaction (DuplicateTransaction)" walkthrough.out'
check "the search found the bicycle" 'grep -q "\"serial\":\"abc-123\"" walkthrough.out'
[ "$failed" -eq 0 ] && echo "walkthrough: 1 passed, 0 failed" || { echo "walkthrough: 0 passed, 1 failed"; exit 1; }
