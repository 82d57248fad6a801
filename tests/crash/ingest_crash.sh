#!/usr/bin/env bash
# Invariant 1 under SIGKILL: start `labvault serve`, send MESSAGES messages over several
# connections while killing the server with SIGKILL at random moments and restarting it; the
# client records every AA. Afterwards every acknowledged message is stored (exactly once: the
# store's unique index), and the audit log still verifies. Repeated ROUNDS times.
#   ingest_crash.sh LABVAULT CRASH_CLIENT [ROUNDS] [MESSAGES] [CONNECTIONS]
set -euo pipefail
lv=$1; client=$2; rounds=${3:-3}; total=${4:-20000}; connections=${5:-4}
work=$(mktemp -d)
server=0
cleanup() { [ "$server" -gt 0 ] && kill -9 "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

start_server() {
  "$lv" serve --config "$config" >>"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 200); do  # until it listens (or died: a port clash is reported below)
    grep -q "MLLP on" "$work/serve.log" 2>/dev/null && [ "$(grep -c 'MLLP on' "$work/serve.log")" -ge "$starts" ] && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.05
  done
  echo "ingest_crash: the server did not start:" >&2; tail -5 "$work/serve.log" >&2; exit 1
}

for round in $(seq "$rounds"); do
  rm -rf "$work/data" "$work"/*.keyring* "$work"/*.jsonl "$work/acks" "$work/serve.log"
  "$lv" init --data "$work/data" --demo >/dev/null
  config="$work/data/labvault.toml"
  port=$(( 20000 + (RANDOM % 20000) ))
  sed -i -e "s/^port = 2575$/port = $port/" -e "s/^port = 8443$/port = 0/" "$config"
  printf '[[ingest.senders]]\nid = "crash"\nlab = "DEMO"\napplication = "ANALYZER"\nfacility = "LAB1"\n' >>"$config"
  starts=1; start_server
  "$client" send 127.0.0.1 "$port" "$connections" "$total" "$work/acks" &
  sender=$!
  kills=0
  while kill -0 "$sender" 2>/dev/null; do
    sleep "0.$(( RANDOM % 9 + 1 ))"
    kill -0 "$sender" 2>/dev/null || break
    kill -9 "$server"; wait "$server" 2>/dev/null || true
    kills=$((kills + 1)); starts=$((starts + 1)); start_server
  done
  wait "$sender"
  kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=0
  "$client" check "$config" DEMO "$work/acks"
  "$lv" audit verify --config "$config" >/dev/null
  echo "ingest_crash: round $round: $(wc -l <"$work/acks") acknowledged, $kills SIGKILLs, all stored, audit log verified"
done
