#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a fixed time, starting from the seed corpora
# in fuzz/corpus/<target> (read-only) plus ../shared/testdata. New inputs go to a temp dir.
#   scripts/fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
build=${1:?build dir}; seconds=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
shared="$root/../shared/testdata"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for target in hl7 csv fhir search store_codec mllp jwt; do
  bin="$build/fuzz/${target}_fuzz"
  [ -x "$bin" ] || { echo "fuzz.sh: $bin missing" >&2; exit 1; }
  mkdir -p "$work/$target"
  seeds=("$root/fuzz/corpus/$target")
  case $target in
    hl7) seeds+=("$shared/hl7/valid" "$shared/hl7/invalid" "$shared/hl7/batch" "$shared/bench") ;;
  esac
  echo "fuzz: $target for ${seconds}s"
  # -rss_limit_mb and -timeout turn unbounded allocation and hangs into failures.
  mkdir -p "$build/crashes"
  # A fixed seed makes the run repeatable: the same tree fuzzes the same inputs in CI and here.
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  "$bin" "$work/$target" "${seeds[@]}" -seed=1 -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -max_len=65536 -print_final_stats=0 -artifact_prefix="$build/crashes/$target-" \
    2>"$work/$target.log" || {
      tail -50 "$work/$target.log"
      echo "fuzz: $target found a crash; input saved in $build/crashes/" >&2; exit 1; }
  grep -E "^#[0-9]+.*DONE" "$work/$target.log" | tail -1 || true
done
