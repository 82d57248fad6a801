#!/usr/bin/env bash
# Converts every valid and batch HL7 test file to a FHIR Bundle with the real binary, adds an
# OperationOutcome for an invalid file, and validates all of them against the official FHIR R4
# JSON schema with ajv (node), a validator labvault did not write.
#   check_outputs.sh LABVAULT_BINARY TESTDATA_DIR OUT_DIR
set -euo pipefail
lv=$1; testdata=$2; out=$3
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || { echo "check_outputs.sh: node is missing (scripts/deps.sh node)" >&2; exit 1; }
[ -f "$here/node_modules/.package-lock.json" ] || npm ci --prefix "$here" --no-audit --no-fund --silent
rm -rf "$out"; mkdir -p "$out"
for f in "$testdata"/hl7/valid/*.hl7 "$testdata"/hl7/batch/*.hl7; do
  "$lv" convert --from hl7 --to fhir "$f" -o "$out/$(basename "$f" .hl7).json" ||
    { echo "check_outputs.sh: converting $f failed" >&2; exit 1; }
done
FHIR_SCHEMA="$testdata/fhir/fhir.schema.json" node "$here/validate.mjs" "$out"/*.json
