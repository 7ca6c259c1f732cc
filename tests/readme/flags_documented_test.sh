#!/usr/bin/env bash
# Every flag `ledgerd --help` prints has a row in the README's Configuration
# table, and every row names a flag ledgerd knows.
#   flags_documented_test.sh README LEDGERD
set -euo pipefail
readme=$1
ledgerd=$2

help_flags=$("$ledgerd" --help | grep -Eo '^  --[a-z0-9-]+' | sed 's/^ *//' | grep -v '^--help$' | sort -u)
table_flags=$(sed -n '/^## Configuration/,/^## /p' "$readme" | grep -Eo '^\| `--[a-z0-9-]+' |
  sed 's/^| `//' | sort -u)

if [ -z "$help_flags" ] || [ -z "$table_flags" ]; then
  echo "could not read the flags (help: ${#help_flags} bytes, table: ${#table_flags} bytes)" >&2
  exit 1
fi
undocumented=$(comm -23 <(echo "$help_flags") <(echo "$table_flags"))
unknown=$(comm -13 <(echo "$help_flags") <(echo "$table_flags"))
status=0
if [ -n "$undocumented" ]; then
  echo "flags missing from the README's Configuration table:" $undocumented >&2
  status=1
fi
if [ -n "$unknown" ]; then
  echo "README documents flags ledgerd does not have:" $unknown >&2
  status=1
fi
[ $status -ne 0 ] || echo "all $(echo "$help_flags" | wc -l) flags documented"
exit $status
