#!/usr/bin/env bash
# Installs dependencies, builds ledgerd and runs every test suite with CTest.
#   scripts/test.sh             Release build in build/
#   scripts/test.sh --sanitize  ASan+UBSan build in build-sanitize/
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
cmake_args=(-DCMAKE_BUILD_TYPE=Release)
if [ "${1:-}" = "--sanitize" ]; then
  build_dir=build-sanitize
  cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEDGERD_SANITIZE=ON -DLEDGERD_BUILD_BENCH=OFF)
fi

scripts/install-deps.sh
# npm packages of the JavaScript test suites (the official BigchainDB driver,
# the browser driver), pinned by their lock files.
for package in tests/*/package.json; do
  (cd "$(dirname "$package")" && npm install --no-audit --no-fund --loglevel=error)
done
cmake -S . -B "$build_dir" -G Ninja "${cmake_args[@]}"
cmake --build "$build_dir" -j "$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)"
