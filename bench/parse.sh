#!/usr/bin/env bash
# HL7 v2 parse throughput: labvault (split + parse + validate + map to the model) beside npm
# hl7parser (parse + read PID and every OBX's code/value/units/flags), same file, same core.
#   bench/parse.sh [FILE] [SECONDS]      default: ../shared/testdata/bench/cbc14.hl7, 5 s each
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
file=${1:-$root/../shared/testdata/bench/cbc14.hl7}
seconds=${2:-5}

"$root/scripts/deps.sh" node
[ -f "$root/build/build.ninja" ] || cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" --target labvault -j "$(nproc)" >/dev/null

peer=$(mktemp -d); trap 'rm -rf "$peer"' EXIT
npm install --prefix "$peer" hl7parser@1.0.1 --no-audit --no-fund --silent >/dev/null

pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)  # one core each, the same one
echo "file: $file ($(wc -c <"$file") bytes, $(grep -c '^OBX' <(tr '\r' '\n' <"$file")) OBX), ${seconds}s per run"
lv=$("${pin[@]}" "$root/build/labvault" bench parse "$file" --seconds "$seconds")
js=$("${pin[@]}" node "$root/bench/hl7parser_peer.js" "$peer" "$file" "$seconds")
echo "$lv"
echo "$js"
lv_rate=$(sed -E 's/.*= ([0-9]+) msg\/s.*/\1/' <<<"$lv")
js_rate=$(sed -E 's/.*= ([0-9]+) msg\/s.*/\1/' <<<"$js")
awk -v a="$lv_rate" -v b="$js_rate" 'BEGIN { printf "ratio: labvault is %.1fx hl7parser (target >= 15x)\n", a / b }'
