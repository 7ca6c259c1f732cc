#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang in build-fuzz/, then
# for each target:
#   1. replays every committed input (tests/fuzz/corpus/<target>/, seeds and
#      regressions alike) once, deterministically: a failure here is a known
#      input that broke, whatever the random exploration does;
#   2. explores from a copy of that corpus for SECONDS.
#   scripts/fuzz.sh [SECONDS] [TARGET...]   SECONDS per target (default 30),
#                                          every target when none is named
# New inputs go to build-fuzz/work/<target>/corpus, never to the committed
# corpus; logs to build-fuzz/work/<target>/{replay,fuzz}.log. The last line
# reads "<n> passed, <m> failed"; the exit status is non-zero when a target
# fails (crash, sanitizer report, invariant violation, timeout or
# out-of-memory), and a one-line command that reproduces each failing input
# is printed.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(fuzz_transaction fuzz_fulfillment_der fuzz_encodings fuzz_canonical_json
             fuzz_http_request fuzz_stream_handshake)

seconds=30
if [ $# -gt 0 ]; then
  seconds=$1
  shift
fi
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
  exit 2
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
  if [[ ! " ${all_targets[*]} " =~ " ${target} " ]]; then
    echo "fuzz.sh: unknown target '$target' (known: ${all_targets[*]})" >&2
    exit 2
  fi
done

build_dir=build-fuzz
cmake -S tests/fuzz -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$build_dir" --target "${targets[@]}"

dictionary_for() {
  case "$1" in
    fuzz_transaction | fuzz_canonical_json) echo tests/fuzz/json.dict ;;
    fuzz_fulfillment_der) echo tests/fuzz/der.dict ;;
    fuzz_http_request) echo tests/fuzz/http.dict ;;
    fuzz_stream_handshake) echo tests/fuzz/stream.dict ;;
  esac
}

# The figures of a finished run, from libFuzzer's last status line and its
# -print_final_stats output.
summarize() {
  local log=$1
  local execs speed coverage
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  coverage=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -n 1)
  echo "execs: ${execs:-?}, exec/s: ${speed:-?}, ${coverage:-no coverage line}"
}

passed=0
failed=0
for target in "${targets[@]}"; do
  work="$build_dir/work/$target"
  rm -rf "$work"
  mkdir -p "$work/artifacts"
  cp -r "tests/fuzz/corpus/$target" "$work/corpus"
  log="$work/fuzz.log"

  args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1
        -artifact_prefix="$work/artifacts/")
  dictionary=$(dictionary_for "$target")
  [ -z "$dictionary" ] || args+=(-dict="$dictionary")

  echo "== $target: replay of $(find "tests/fuzz/corpus/$target" -type f | wc -l) committed inputs"
  replay_log="$work/replay.log"
  failing=""
  while IFS= read -r -d '' input; do
    if ! "$build_dir/$target" -runs=1 -rss_limit_mb=2048 -timeout=25 "$input" \
        >>"$replay_log" 2>&1; then
      failing+="$input"$'\n'
    fi
  done < <(find "tests/fuzz/corpus/$target" -type f -print0 | sort -z)
  if [ -n "$failing" ]; then
    tail -n 40 "$replay_log"
    while IFS= read -r input; do
      [ -n "$input" ] || continue
      echo "$target: committed input fails: $input (rerun: $build_dir/$target $input)"
    done <<<"$failing"
    echo "$target: FAILED on committed inputs; log: $replay_log"
    failed=$((failed + 1))
    continue
  fi

  echo "== $target: ${seconds}s"
  status=0
  "$build_dir/$target" "${args[@]}" "$work/corpus" >"$log" 2>&1 || status=$?
  if [ "$status" -eq 0 ]; then
    echo "$target: ok ($(summarize "$log"))"
    passed=$((passed + 1))
  else
    tail -n 60 "$log"
    echo "$target: FAILED with status $status ($(summarize "$log")); log: $log"
    reproducers=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log")
    for reproducer in $reproducers; do
      echo "$target: reproducer $reproducer (rerun: $build_dir/$target $reproducer)"
    done
    failed=$((failed + 1))
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
