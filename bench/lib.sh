# Shared by the bench/ scripts (sourced): waiting for a server's port, and the processes and
# temp dir to clean up. The caller keeps the PIDs it must kill on exit in the array `pids`, its
# temp dir in `tmp`, and sets `trap cleanup EXIT`.

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}

# port_from LOG PATTERN PID [SECONDS]: waits (default 10 s) for "PATTERN<port>" in LOG while PID
# lives, and prints the port.
port_from() {
  local log=$1 pattern=$2 pid=$3
  for _ in $(seq $((${4:-10} * 10))); do
    local p
    p=$(sed -nE "s/.*${pattern}([0-9]+).*/\1/p" "$log" | head -1)
    [ -n "$p" ] && { echo "$p"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$(basename "$0"): no listening port in $log:" >&2; cat "$log" >&2; return 1
}

forget() {  # forget PID: no longer ours to kill on exit
  local keep=() p
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}
