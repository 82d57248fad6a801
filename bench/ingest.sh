#!/usr/bin/env bash
# MLLP ingest throughput and ACK latency, one run on this machine:
#   1. labvault serve with TLS, durable SQLite (synchronous=FULL), field encryption and the audit
#      log on; `labvault bench ingest` sends the CBC ORU from CONNECTIONS connections over TLS,
#      closed loop (next message when the ACK arrives), SECONDS measured;
#   2. the same server at a fixed offered load of RATE msgs/s (open loop; latency from the
#      scheduled send time), SECONDS measured;
#   3. optionally (MEMORY_MINUTES=N) N minutes closed loop (or MEMORY_RATE msgs/s), RSS sampled;
#   4. SIGTERM, then `labvault audit verify` on the data;
#   5. the same closed-loop load against npm simple-hl7 and @medplum/hl7 servers that parse and
#      ACK (AA) each message and store nothing, over plaintext TCP (a baseline, not a peer in
#      durability or security).
# Prints msgs/s for each, the ratios, latency percentiles, labvault's RSS, and each target.
#   bench/ingest.sh [SECONDS]        default 20
#   env: CONNECTIONS (8), RATE (5000), WARMUP (2 s, not counted), FILE (cbc14.hl7),
#        PATIENTS (0 = a new patient per message; N = N per connection, cycled),
#        MEMORY_MINUTES (0 = skip), MEMORY_RATE (0 = closed loop)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
seconds=${1:-20}
connections=${CONNECTIONS:-8}
rate=${RATE:-5000}
warmup=${WARMUP:-2}
file=${FILE:-$root/../shared/testdata/bench/cbc14.hl7}
memory_minutes=${MEMORY_MINUTES:-0}
memory_rate=${MEMORY_RATE:-0}
patients=${PATIENTS:-0}

"$root/scripts/deps.sh" node
[ -f "$root/build/build.ninja" ] || cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" --target labvault -j "$(nproc)" >/dev/null
lv=$root/build/labvault

tmp=$(mktemp -d)
pids=()
trap cleanup EXIT
trap 'exit 130' INT TERM

npm install --prefix "$tmp/npm" simple-hl7@3.3.0 @medplum/hl7@4.5.2 --no-audit --no-fund --silent >/dev/null

rss_kb() { awk -v f="${2:-VmRSS}:" '$1 == f { print $2 }' "/proc/$1/status"; }
rss_text() { echo "$(($(rss_kb "$1") / 1024)) MiB (anon $(($(rss_kb "$1" RssAnon) / 1024)))"; }
field() { sed -nE "s/.*(^| )$1=([^ ]+).*/\2/p" <<<"$2" | tail -1; }

# --- labvault: data directory, keys, TLS certificate, config -------------------------------------
"$lv" init --data "$tmp/lv/data" --demo >/dev/null
cfg=$tmp/lv/data/labvault.toml
pki=$tmp/pki
mkdir -p "$pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=labvault bench CA" -keyout "$pki/ca.key" -out "$pki/ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >"$pki/ext.cnf"
openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
  -days 2 -extfile "$pki/ext.cnf" -out "$pki/server.pem" 2>/dev/null
chmod 600 "$pki"/*.key

# The listener: TLS on loopback, an ephemeral port. The sender: MSH-3/MSH-4 of the bench message
# (first components, as the ingest pipeline matches them) for the demo lab.
sed -i -E -e 's/^port = [0-9]+$/port = 0/' \
  -e "s|^# tls_cert = .*|tls_cert = \"$pki/server.pem\"|" \
  -e "s|^# tls_key = .*|tls_key = \"$pki/server.key\"|" "$cfg"
msh=$(tr '\r' '\n' <"$file" | awk 'NR == 1')
app=$(cut -d'|' -f3 <<<"$msh" | cut -d'^' -f1)
facility=$(cut -d'|' -f4 <<<"$msh" | cut -d'^' -f1)
printf '\n[[ingest.senders]]\nid = "bench-sender"\nlab = "DEMO"\napplication = "%s"\nfacility = "%s"\n' \
  "$app" "$facility" >>"$cfg"
grep -q '^tls_cert = ' "$cfg" && grep -q '^port = 0$' "$cfg" || { echo "ingest.sh: could not edit $cfg" >&2; exit 1; }

"$lv" serve --config "$cfg" >"$tmp/serve.log" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
lv_port=$(port_from "$tmp/serve.log" "MLLP on 127\\.0\\.0\\.1:" "$serve_pid")
grep -q '(TLS)' "$tmp/serve.log" || { echo "ingest.sh: labvault serve is not on TLS" >&2; exit 1; }
rss_start=$(rss_text "$serve_pid")

echo "machine: $(nproc) cores; message: $file ($(wc -c <"$file") bytes, $(tr '\r' '\n' <"$file" | grep -c '^OBX') OBX); $connections connections; ${warmup}s warm-up + ${seconds}s measured per run; patients: $([ "$patients" = 0 ] && echo 'a new one per message' || echo "$patients per connection, cycled")"
failures=0
run_bench() {  # run_bench NAME ARGS... ; prints the tool's output, sets $last to its last line
  local name=$1 out rc=0
  shift
  out=$("$lv" bench ingest --connections "$connections" --warmup "$warmup" --patients "$patients" "$@" "$file") || rc=$?
  sed 's/^/  /' <<<"$out"
  last=$(tail -1 <<<"$out")
  if [ "$rc" -ne 0 ]; then
    echo "ingest.sh: $name: bench ingest exited $rc" >&2
    failures=$((failures + 1))
  fi
}

echo "== labvault serve (TLS, durable SQLite, encryption, audit), closed loop"
run_bench labvault-closed --to "127.0.0.1:$lv_port" --tls-ca "$pki/ca.pem" --seconds "$seconds" --id-prefix C
lv_closed=$last
rss_after_closed=$(rss_text "$serve_pid")

echo "== labvault serve, open loop at $rate msgs/s offered"
run_bench labvault-open --to "127.0.0.1:$lv_port" --tls-ca "$pki/ca.pem" --seconds "$seconds" --rate "$rate" --id-prefix R
lv_open=$last
rss_after_open=$(rss_text "$serve_pid")

mem_note="not measured (MEMORY_MINUTES=N runs it)"
mem_ok=""
if [ "$memory_minutes" != 0 ]; then
  mem_seconds=$((memory_minutes * 60))
  echo "== labvault serve, ${memory_minutes} min $([ "$memory_rate" = 0 ] && echo 'closed loop' || echo "at $memory_rate msgs/s"), RSS every 10 s"
  samples=$tmp/rss.txt
  : >"$samples"
  rate_args=()
  [ "$memory_rate" != 0 ] && rate_args=(--rate "$memory_rate")
  "$lv" bench ingest --connections "$connections" --warmup "$warmup" --patients "$patients" --to "127.0.0.1:$lv_port" \
    --tls-ca "$pki/ca.pem" --seconds "$mem_seconds" "${rate_args[@]}" --id-prefix L "$file" \
    >"$tmp/memory.out" 2>&1 &
  bench_pid=$!
  pids+=("$bench_pid")
  t=0
  while kill -0 "$bench_pid" 2>/dev/null; do
    [ $((t % 10)) -eq 0 ] && echo "$t $(rss_kb "$serve_pid") $(rss_kb "$serve_pid" RssAnon)" >>"$samples"
    sleep 1
    t=$((t + 1))
  done
  rc=0
  wait "$bench_pid" || rc=$?
  forget "$bench_pid"
  sed 's/^/  /' "$tmp/memory.out"
  if [ "$rc" -ne 0 ]; then
    echo "ingest.sh: memory run: bench ingest exited $rc" >&2
    failures=$((failures + 1))
  fi
  # Flat: RSS at the end within 10% of RSS one fifth into the run (after caches have filled).
  mem_base=$(awk -v at=$((mem_seconds / 5 + warmup)) '$1 >= at { print $2; exit }' "$samples")
  mem_end=$(rss_kb "$serve_pid")
  echo "  RSS samples (s:kB, anon kB): $(awk '{ printf "%s:%s,%s ", $1, $2, $3 }' "$samples")"
  mem_note=$(awk -v a="$mem_base" -v b="$mem_end" 'BEGIN { printf "%.1f MiB at 1/5 of the run -> %.1f MiB at the end (%+.1f%%)", a / 1024, b / 1024, (b - a) * 100 / a }')
  mem_ok=$(awk -v a="$mem_base" -v b="$mem_end" 'BEGIN { print (b <= a * 1.10) ? "met" : "NOT met" }')
  mem_ok="$mem_ok (<= +10% after the first fifth)"
fi
rss_end=$(rss_text "$serve_pid")

kill -TERM "$serve_pid"
serve_rc=0
wait "$serve_pid" || serve_rc=$?
forget "$serve_pid"
if [ "$serve_rc" -ne 0 ]; then
  echo "ingest.sh: labvault serve exited $serve_rc" >&2
  failures=$((failures + 1))
fi
echo "  $(grep 'accepted,' "$tmp/serve.log" || echo 'labvault serve printed no counters')"
db_bytes=$(du -sb "$tmp/lv/data" | cut -f1)
echo "  data directory after the runs: $((db_bytes / 1048576)) MiB"
if verify=$("$lv" audit verify --config "$cfg" 2>&1); then
  audit_result="ok"
else
  audit_result="FAILED"
  failures=$((failures + 1))
fi
echo "  audit verify: $audit_result: $(tail -1 <<<"$verify")"

peer() {  # peer NAME: starts it, runs the closed-loop load, stops it; sets $last
  local name=$1 log=$tmp/peer-$1.log pid port
  node "$root/bench/mllp_peer.js" "$tmp/npm" "$name" 0 >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  port=$(port_from "$log" "listening " "$pid")
  echo "== npm $name (plaintext TCP, parse + ACK, stores nothing), closed loop"
  run_bench "$name" --to "127.0.0.1:$port" --seconds "$seconds" --id-prefix "${name:0:1}"
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget "$pid"
  echo "  $(tail -1 "$log")"
}
peer simple-hl7
simple=$last
peer medplum
medplum=$last

lv_rate=$(field ingest_msgs_per_s "$lv_closed")
simple_rate=$(field ingest_msgs_per_s "$simple")
medplum_rate=$(field ingest_msgs_per_s "$medplum")
open_rate=$(field ingest_msgs_per_s "$lv_open")
p50=$(field p50_ms "$lv_open")
p90=$(field p90_ms "$lv_open")
p99=$(field p99_ms "$lv_open")
pmax=$(field max_ms "$lv_open")
behind=$(field behind "$lv_open")

echo
echo "== summary"
printf '  %-52s %8s msgs/s  (p50 %s ms, p99 %s ms)\n' \
  "labvault, TLS + durable + encrypted + audited" "$lv_rate" "$(field p50_ms "$lv_closed")" "$(field p99_ms "$lv_closed")"
printf '  %-52s %8s msgs/s  (p50 %s ms, p99 %s ms)\n' \
  "simple-hl7 3.3.0, plaintext, stores nothing" "$simple_rate" "$(field p50_ms "$simple")" "$(field p99_ms "$simple")"
printf '  %-52s %8s msgs/s  (p50 %s ms, p99 %s ms)\n' \
  "@medplum/hl7 4.5.2, plaintext, stores nothing" "$medplum_rate" "$(field p50_ms "$medplum")" "$(field p99_ms "$medplum")"
awk -v a="$lv_rate" -v b="$simple_rate" -v c="$medplum_rate" \
  'BEGIN { printf "  ratio: labvault is %.2fx simple-hl7, %.2fx @medplum/hl7\n", a / b, a / c }'
echo "  labvault at $rate msgs/s offered: achieved $open_rate msgs/s, ACK latency from scheduled send p50 $p50 ms, p90 $p90 ms, p99 $p99 ms, max $pmax ms; $behind never sent (behind schedule)"
echo "  labvault RSS: $rss_start idle -> $rss_after_closed after closed loop -> $rss_after_open after $rate/s -> $rss_end at the end"
echo "  memory over ${memory_minutes} min: $mem_note"

target() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "NOT met"; fi; }
echo "  target >= 20000 msgs/s durable:           $(target "$lv_rate >= 20000") ($lv_rate)"
echo "  target >= 3.5x simple-hl7:                $(target "$lv_rate >= 3.5 * $simple_rate")"
echo "  target p99 ACK < 5 ms at $rate msgs/s:      $(target "$p99 < 5 && $behind == 0 && $open_rate >= 0.98 * $rate") (p99 $p99 ms)"
echo "  target memory flat over 5 min:            ${mem_ok:-not measured}"
echo "  audit verify after the runs:              $audit_result"
[ "$failures" -eq 0 ] || { echo "ingest.sh: $failures run(s) failed" >&2; exit 1; }
