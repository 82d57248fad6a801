#!/usr/bin/env bash
# Audit log throughput on one core: append EVENTS synthetic audit events (clinicians' reads, each
# chained, added to the RFC 9162 tree, a signed Ed25519 checkpoint every 10000 records, WAL +
# synchronous=FULL, 1000 events per transaction as group commit gathers them from concurrent
# requests), then verify the whole log as `labvault audit verify` does (chain, tree, every
# signature, a consistency proof between consecutive checkpoints).
# Targets (issue): append >= 100000 events/s; verify 1000000 events in < 1 s.
#   bench/audit.sh [EVENTS] [BATCH]     defaults 1000000 and 1000
# LABVAULT_BUILD (default build) and BUILD_JOBS (default nproc) pick the build tree.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
events=${1:-1000000}
batch=${2:-1000}
build=${LABVAULT_BUILD:-$root/build}
case $build in /*) ;; *) build=$root/$build ;; esac

[ -f "$build/build.ninja" ] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target labvault -j "${BUILD_JOBS:-$(nproc)}" >/dev/null

pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
echo "bench audit: $events events, $batch per transaction, one core (${pin[*]:-unpinned})"
out=$("${pin[@]}" "$build/labvault" bench audit --events "$events" --batch "$batch")
echo "$out"
summary=$(tail -n 1 <<<"$out")
rate=$(sed -E 's/.*labvault_append_events_per_s=([0-9.]+).*/\1/' <<<"$summary")
secs=$(sed -E 's/.*labvault_verify_seconds=([0-9.]+).*/\1/' <<<"$summary")
awk -v r="$rate" -v s="$secs" -v n="$events" 'BEGIN {
  printf "append: %.0f events/s (target >= 100000): %s\n", r, (r >= 100000 ? "met" : "MISSED")
  printf "verify: %d events in %.3f s (target < 1 s for 1000000): %s\n", n, s,
         (n >= 1000000 ? (s < 1 ? "met" : "MISSED") : "run with 1000000 events to judge")
}'
