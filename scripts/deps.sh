#!/usr/bin/env bash
# Installs the Debian 12 packages labvault needs, and only those missing: `apt-get update` runs
# once, and not at all when everything is present. Safe to run again (idempotent).
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  libfmt-dev libspdlog-dev nlohmann-json3-dev libcli11-dev libtomlplusplus-dev
  libssl-dev libsqlite3-dev libargon2-dev liboath-dev libzxcvbn-dev libboost-dev
)
# Extra groups: fuzz (libFuzzer needs clang 19; Debian's clang 14 cannot build <expected>) and
# node (the FHIR schema validator and the hl7parser benchmark peer).
for group in "$@"; do
  case "$group" in
    fuzz) packages+=(clang-19 libclang-rt-19-dev) ;;
    demo) packages+=(curl oathtool) ;;  # scripts/demo-login.sh
    bench) packages+=(wrk oathtool curl) ;;  # bench/fhir.sh
    node) command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm) ;;
    *) echo "deps.sh: unknown group '$group'" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "deps.sh: installing ${missing[*]}"
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
