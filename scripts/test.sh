#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test suite
# (unit, reference oracles, end-to-end, bounded fuzzing). Exit status 0 iff all pass.
#   scripts/test.sh            everything
#   scripts/test.sh -L unit    only tests with a ctest label (unit, reference, e2e, fuzz)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
jobs="${R1_JOBS:-2}"

scripts/setup.sh

cmake --preset release >/dev/null
cmake --build build -j"$jobs"
status=0
# --timeout: a test without its own limit (unit tests) fails after 10 min instead of hanging CI.
ctest --test-dir build --output-on-failure --timeout 600 -j"$jobs" "$@" || status=1

# libFuzzer needs clang: a separate build tree; runs every fuzz target for a bounded time.
if [[ $# -eq 0 || " $* " == *" fuzz "* ]]; then
  cmake --preset fuzz >/dev/null
  cmake --build build-fuzz -j"$jobs" --target fuzzers
  ctest --test-dir build-fuzz --output-on-failure -L fuzz || status=1
fi
exit $status
