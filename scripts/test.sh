#!/usr/bin/env bash
# Installs dependencies, builds ledgerd and runs every test suite with CTest.
#   scripts/test.sh             Release build in build/, then every fuzz target
#                               for 30 s on its seed corpus (scripts/fuzz.sh)
#   scripts/test.sh --sanitize  ASan+UBSan build in build-sanitize/, every suite
#                               but those labelled `external` (the real
#                               engines, the JavaScript driver, Chromium, the
#                               README and the compose files drive the release
#                               binaries; tests/CMakeLists.txt says why)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DLEDGERD_BUILD_TESTS=ON -DLEDGERD_BUILD_BENCH=ON)
fuzz=1
ctest_args=()
case "${1:-}" in
  "") ;;
  --sanitize)
    build_dir=build-sanitize
    # -O1 with line tables: the optimisation ASan recommends, reports with
    # file and line, and half the compile time of -O2 -g.
    cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
                "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
                -DLEDGERD_SANITIZE=ON -DLEDGERD_BUILD_TESTS=ON -DLEDGERD_BUILD_BENCH=OFF)
    fuzz=0  # the fuzz targets carry their own sanitizers
    ctest_args=(-LE external)
    ;;
  *)
    echo "usage: scripts/test.sh [--sanitize]" >&2
    exit 2
    ;;
esac

scripts/install-deps.sh
# The real consensus engines the end-to-end suites run beside (Go modules).
scripts/install-engines.sh
# npm packages of the JavaScript test suites (the official BigchainDB driver,
# the browser driver), pinned by their lock files.
for package in tests/*/package.json; do
  (cd "$(dirname "$package")" && npm install --no-audit --no-fund --loglevel=error)
done
cmake -S . -B "$build_dir" -G Ninja "${cmake_args[@]}"
cmake --build "$build_dir" -j "$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "${ctest_args[@]}"
if [ "$fuzz" = 1 ]; then
  scripts/fuzz.sh 30
fi
