#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test suite
# (unit, reference oracles, end-to-end, bounded fuzzing). Exit status 0 iff all pass.
#   scripts/test.sh            everything
#   scripts/test.sh -L unit    only tests with a ctest label (unit, reference, e2e, fuzz; asan: the
#                              ASan + UBSan build of the unit and e2e tests)
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

# ASan + UBSan (and LeakSanitizer): the unit and end-to-end tests again, in their own
# build tree; any report fails the test that produced it.
if [[ $# -eq 0 || " $* " == *" asan "* ]]; then
  cmake --preset asan >/dev/null
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure --timeout 900 -j"$jobs" -L "unit|e2e" || status=1
fi

# libFuzzer needs clang: a separate build tree; runs every fuzz target for a bounded time.
if [[ $# -eq 0 || " $* " == *" fuzz "* ]]; then
  cmake --preset fuzz >/dev/null
  cmake --build build-fuzz -j"$jobs" --target fuzzers
  ctest --test-dir build-fuzz --output-on-failure -j"$jobs" -L fuzz || status=1
fi
exit $status
