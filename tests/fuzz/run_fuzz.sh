#!/bin/sh
# Runs a libFuzzer binary for a bounded time and fails (non-zero exit) on any crash.
# usage: run_fuzz.sh FUZZER WORKDIR [DICT]
#   WORKDIR/seeds     seed inputs (read only)
#   WORKDIR/corpus    inputs the fuzzer found interesting (kept between runs)
#   WORKDIR/artifacts crashing / timing-out inputs
# env: R1_FUZZ_SECONDS total run time (default 60), R1_FUZZ_ARGS extra libFuzzer flags.
set -eu
fuzzer=$1
work=$2
dict=${3:-}
seconds=${R1_FUZZ_SECONDS:-60}
mkdir -p "$work/seeds" "$work/corpus" "$work/artifacts"
set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/"
if [ -n "$dict" ]; then set -- "$@" -dict="$dict"; fi
# shellcheck disable=SC2086
exec "$fuzzer" "$@" ${R1_FUZZ_ARGS:-} "$work/corpus" "$work/seeds"
