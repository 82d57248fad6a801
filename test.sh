#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the fuzz targets for a short while,
# the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer, then the whole suite in
# the normal build (its ctest summary is the last line). Idempotent; CI runs exactly this.
#   FUZZ_SECONDS=60 ./test.sh    # fuzz longer (default 20 s per target; 0 skips fuzzing)
set -euo pipefail
cd "$(dirname "$0")"
jobs=$(nproc)

if [ "${FUZZ_SECONDS:-20}" != 0 ]; then scripts/deps.sh fuzz node; else scripts/deps.sh node; fi
# .package-lock.json is written last by npm: its absence means an interrupted install.
[ -f tests/fhir_schema/node_modules/.package-lock.json ] ||
  npm ci --prefix tests/fhir_schema --no-audit --no-fund --silent

configure() {  # build-dir, extra cmake args...
  local dir=$1; shift
  [ -f "$dir/build.ninja" ] || cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
}

if [ "${FUZZ_SECONDS:-20}" != 0 ]; then
  echo "== fuzz (${FUZZ_SECONDS:-20} s per target)"
  configure build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLABVAULT_FUZZ=ON \
    -DCMAKE_CXX_COMPILER=clang++-19
  cmake --build build-fuzz -j "$jobs"
  scripts/fuzz.sh build-fuzz "${FUZZ_SECONDS:-20}"
fi

echo "== tests under ASan + UBSan"
configure build-asan -DCMAKE_BUILD_TYPE=Debug -DLABVAULT_SANITIZE=ON
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs"

echo "== tests"
configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"
