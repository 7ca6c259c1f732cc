#!/usr/bin/env bash
# Installs the pinned consensus engines of scripts/engines.txt with
# `go install`, each into build/engines/<command>-<version>/bin/ (Go's build
# cache in build/engines/go-build), and skips an engine already there.
#
#   scripts/install-engines.sh [NAME...]       every engine when none is named
#   scripts/install-engines.sh --path NAME     installs NAME if needed, then
#                                             prints its binary's path
#
# NAME is a first column of scripts/engines.txt (cometbft-v0.38,
# cometbft-v1.0, tendermint-v0.34). Needs Go 1.22 or newer and the Go module
# proxy (GOPROXY).
#
# Each engine is built as `go install <module>/<command>@<version>` builds it:
# the module at that version is the main module, with its own go.mod and
# go.sum, and no go.work (CometBFT v1 ships one naming modules that its
# release archive leaves out). The module is fetched with `go mod download` and installed from its
# directory, because `go install ...@version` also asks the proxy for the
# module's list of versions, which proxies refuse for some retired modules
# (github.com/tendermint/tendermint).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

names=()
declare -A module_of version_of command_of
while read -r name module version command; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  names+=("$name")
  module_of[$name]=$module
  version_of[$name]=$version
  command_of[$name]=$command
done <scripts/engines.txt

usage() {
  echo "usage: scripts/install-engines.sh [NAME...] | --path NAME   (NAME: ${names[*]})" >&2
  exit 2
}

binary_of() {
  local command
  command=$(basename "${command_of[$1]}")
  echo "$root/build/engines/$command-${version_of[$1]}/bin/$command"
}

install_one() {
  local name=$1
  local binary
  binary=$(binary_of "$name")
  [ -x "$binary" ] && return 0
  if ! command -v go >/dev/null 2>&1; then
    echo "install-engines: Go is missing: install Go 1.22 or newer and put 'go' on PATH" \
         "(Debian 12: 'apt-get install -t bookworm-backports golang-go', or the release" \
         "tarball from go.dev/dl into /usr/local/go)." >&2
    exit 1
  fi
  local module_at="${module_of[$name]}@${version_of[$name]}"
  echo "install-engines: go install $module_at/${command_of[$name]}" >&2
  local module_dir
  module_dir=$(cd "$root" && go mod download -json "$module_at" |
               sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ -z "$module_dir" ] || [ ! -d "$module_dir" ]; then
    echo "install-engines: could not download $module_at" >&2
    exit 1
  fi
  # Built into a staging directory first: a build that fails or is
  # interrupted leaves no binary, so the next run tries again.
  local staging="$binary.partial"
  rm -rf "$staging"
  mkdir -p "$staging"
  (cd "$module_dir" &&
    GOWORK=off GOBIN="$staging" GOCACHE="$root/build/engines/go-build" GOFLAGS="-mod=readonly -buildvcs=false" \
      go install "./${command_of[$name]}")
  mv "$staging/$(basename "$binary")" "$binary"
  rmdir "$staging"
}

if [ "${1:-}" = "--path" ]; then
  [ $# -eq 2 ] && [ -n "${module_of[$2]:-}" ] || usage
  install_one "$2"
  binary_of "$2"
  exit 0
fi

selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=("${names[@]}")
for name in "${selected[@]}"; do
  [ -n "${module_of[$name]:-}" ] || usage
done
for name in "${selected[@]}"; do
  install_one "$name"
  echo "install-engines: $name ${version_of[$name]}: $(binary_of "$name")"
done
