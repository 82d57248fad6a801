#!/usr/bin/env bash
# First command for a new user: installs what is missing, builds build/labvault, creates a
# development data directory with its keyring and the demo lab (dev/data, dev/labvault.keyring;
# kept across runs), runs a demo conversion of the bundled sample (HL7 v2 ORU^R01 -> FHIR R4
# Bundle -> HL7 and CSV), verifies the audit log, and starts `labvault serve` (MLLP on
# 127.0.0.1:2575, the FHIR API on https://127.0.0.1:8443) in the foreground until Ctrl-C. Idempotent: re-running rebuilds only what
# changed, verifies dev/data instead of replacing it, and rewrites dev/demo/.
set -euo pipefail
cd "$(dirname "$0")"

scripts/deps.sh demo
[ -f build/build.ninja ] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target labvault

lv=build/labvault
out=dev/demo
mkdir -p "$out"
sample=samples/hl7/demo_cbc.hl7

echo
echo "== labvault init --data dev/data --demo   (encrypted store; keyring dev/labvault.keyring)"
$lv init --data dev/data --demo
echo "== labvault keys status --config dev/data/labvault.toml"
$lv keys status --config dev/data/labvault.toml

echo
echo "== labvault validate $sample"
$lv validate "$sample"
echo
echo "== labvault convert --from hl7 --to fhir $sample -o $out/demo_cbc.fhir.json"
$lv convert --from hl7 --to fhir "$sample" -o "$out/demo_cbc.fhir.json"
echo "== labvault convert --from fhir --to hl7 $out/demo_cbc.fhir.json -o $out/demo_cbc.roundtrip.hl7"
$lv convert --from fhir --to hl7 "$out/demo_cbc.fhir.json" -o "$out/demo_cbc.roundtrip.hl7"
echo "== labvault convert --from hl7 --to csv --mapping samples/csv/mapping.toml $sample -o $out/demo_cbc.csv"
$lv convert --from hl7 --to csv --mapping samples/csv/mapping.toml "$sample" -o "$out/demo_cbc.csv"
echo
echo "== the FHIR Observations in $out/demo_cbc.fhir.json (first 40 lines):"
head -40 "$out/demo_cbc.fhir.json"
echo "..."
echo
echo "== $out/demo_cbc.csv:"
cat "$out/demo_cbc.csv"
echo
echo "== labvault audit verify --config dev/data/labvault.toml"
$lv audit verify --config dev/data/labvault.toml
echo
echo "Conversions are in $out/; the encrypted store is dev/data (config dev/data/labvault.toml)."
ca=dev/data/tls/server.crt
fhir=https://127.0.0.1:8443/fhir/DEMO
echo "Starting MLLP (127.0.0.1:2575) and HTTPS (https://127.0.0.1:8443, FHIR base $fhir)."
echo "Demo people and their one-time passwords: dev/data/demo-users.txt. In another terminal:"
echo
echo "  $lv send --to 127.0.0.1:2575 $sample          # HL7 in over MLLP: prints the ACK (AA)"
echo
echo "  # FHIR out: log in (sets up two-factor the first time; cookie in dev/demo/<user>.jar)"
echo "  scripts/demo-login.sh demo.provider"
echo "  curl --cacert $ca -b dev/demo/demo.provider.jar '$fhir/Observation?patient=1&_sort=-date'"
echo "  curl --cacert $ca -b dev/demo/demo.provider.jar $fhir/DiagnosticReport/1"
echo "  #   demo.provider cares for patient 1 only: patient 2 answers 403 (break-glass: README)"
echo "  scripts/demo-login.sh demo.billing    # billing: the same results without values"
echo "  curl --cacert $ca -b dev/demo/demo.billing.jar '$fhir/Observation?patient=1'"
echo "  curl --cacert $ca $fhir/metadata              # CapabilityStatement (no login)"
echo "  curl --cacert $ca https://127.0.0.1:8443/metrics"
echo
echo "  $lv audit tail --config dev/data/labvault.toml     # who read and stored what"
echo "  $lv audit verify --config dev/data/labvault.toml   # the tamper-evident log checks out"
echo "Stop with Ctrl-C (the server signs a final audit checkpoint)."
echo
exec $lv serve --config dev/data/labvault.toml
