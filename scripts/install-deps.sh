#!/usr/bin/env bash
# Installs the Debian packages ledgerd uses. Idempotent; needs root (or sudo)
# on Debian 12.
#   scripts/install-deps.sh          everything the build, tests, fuzzing and
#                                    benchmarks use (scripts/test.sh)
#   scripts/install-deps.sh --run    only what building and running ledgerd
#                                    and ledgerctl needs (scripts/run.sh)
set -euo pipefail

# Building and running ledgerd and ledgerctl.
packages=(
  build-essential cmake pkg-config ninja-build git ca-certificates curl
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libboost1.81-dev
  nlohmann-json3-dev
  libleveldb-dev libsnappy-dev
  libsodium-dev libssl-dev
  libjemalloc-dev
)
case "${1:-}" in
  --run) ;;
  "")
    # Tests, fuzzing, benchmarks, the compose runner and the browser tests.
    packages+=(
      openssl
      libgtest-dev libgmock-dev libbenchmark-dev
      python3 python3-websocket python3-yaml jq
      clang libclang-rt-14-dev llvm
      docker-compose iproute2
      chromium chromium-driver
    )
    ;;
  *)
    echo "usage: scripts/install-deps.sh [--run]" >&2
    exit 2
    ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Node.js (for the JavaScript driver tests) may come from Debian or from an
# upstream package that bundles npm; install Debian's only when neither exists.
if [ "${1:-}" != "--run" ] && ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
