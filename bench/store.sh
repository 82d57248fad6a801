#!/usr/bin/env bash
# Store throughput: synthetic observations written three ways on one core, one transaction per
# 1000 observations, WAL + synchronous=FULL for all:
#   (b) plain SQLite      the observations table with `result` = codec bytes in clear
#   (c) sealed            the same table, `result` sealed like the store (AES-256-GCM + AAD)
#   (a) store_messages    the real ingest path: patient, report, raw message, provenance, keys
# Targets (issue): (c) costs <= 15% over (b); (a) stores >= 200k observations/s.
#   bench/store.sh [ROWS]       default 100000 observations per path
# LABVAULT_BUILD (default build) and BUILD_JOBS (default nproc) pick the build tree and its
# parallelism, for machines whose cores are shared.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rows=${1:-100000}
build=${LABVAULT_BUILD:-$root/build}
case $build in /*) ;; *) build=$root/$build ;; esac

[ -f "$build/build.ninja" ] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target labvault -j "${BUILD_JOBS:-$(nproc)}" >/dev/null

pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)  # one core, as the target says
echo "bench store: $rows observations per path, batches of 1000, one core (${pin[*]:-unpinned})"
echo "  (b) plain SQLite: observations table, result = codec bytes in clear (the baseline)"
echo "  (c) sealed: same table, result sealed as the store does      target: <= +15% over (b)"
echo "  (a) store_messages: full ingest (patients, reports, raw, provenance, data keys)"
echo "                                                                target: >= 200000 rows/s"
out=$("${pin[@]}" "$build/labvault" bench store --rows "$rows")
echo "$out"
summary=$(tail -n 1 <<<"$out")
full=$(sed -E 's/.*labvault_encrypted_obs_per_s=([0-9.]+).*/\1/' <<<"$summary")
overhead=$(sed -E 's/.* overhead_pct=(-?[0-9.]+).*/\1/' <<<"$summary")
awk -v f="$full" -v o="$overhead" 'BEGIN {
  printf "field encryption overhead (c vs b): %+.1f%% (target <= 15%%): %s\n", o, (o <= 15 ? "met" : "MISSED")
  printf "full ingest (a): %.0f observations/s (target >= 200000): %s\n", f, (f >= 200000 ? "met" : "MISSED")
}'
