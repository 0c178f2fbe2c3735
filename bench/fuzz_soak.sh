#!/usr/bin/env bash
# Long fuzzing soak: builds every libFuzzer target (clang, ASan + UBSan + LeakSanitizer)
# and runs each one for R1_FUZZ_SECONDS (default 3600) over its seed corpus and the
# corpus kept from earlier runs, R1_FUZZ_JOBS (default 1) targets at a time.
# Prints one line per target: seconds, executions, new corpus size, crash artifacts;
# exits non-zero if any target found a crash, leak or timeout.
#   bench/fuzz_soak.sh                      every target, an hour each
#   R1_FUZZ_SECONDS=600 bench/fuzz_soak.sh gguf template
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
seconds="${R1_FUZZ_SECONDS:-3600}"
jobs="${R1_FUZZ_JOBS:-1}"
cmake --preset fuzz >/dev/null
cmake --build build-fuzz -j"${R1_JOBS:-2}" --target fuzzers
# The seed fixtures (fuzz.<name>_seeds) write or copy each target's seeds.
ctest --test-dir build-fuzz -L fuzz -R '_seeds$' >/dev/null || { echo "seed generation failed"; exit 1; }
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  mapfile -t targets < <(ls build-fuzz/tests/fuzz/*_fuzz 2>/dev/null | xargs -n1 basename | sed 's/_fuzz$//')
fi
logdir="build-fuzz/soak"
mkdir -p "$logdir"
run_one() {
  local name=$1 work="build-fuzz/tests/fuzz/$1" dict=""
  [[ -f "tests/fuzz/$name.dict" ]] && dict="tests/fuzz/$name.dict"
  R1_FUZZ_SECONDS="$seconds" sh tests/fuzz/run_fuzz.sh "build-fuzz/tests/fuzz/${name}_fuzz" "$work" $dict \
    >"$logdir/$name.log" 2>&1
  echo $? >"$logdir/$name.rc"
}
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [[ $running -ge $jobs ]]; then wait -n; running=$((running - 1)); fi
done
wait
status=0
printf '%-12s %8s %14s %8s %s\n' target seconds executions corpus artifacts
for t in "${targets[@]}"; do
  log="$logdir/$t.log"
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  secs=$(grep -o 'stat::average_exec_per_sec: [0-9]*' "$log" >/dev/null && echo "$seconds")
  corpus=$(ls "build-fuzz/tests/fuzz/$t/corpus" 2>/dev/null | wc -l)
  artifacts=$(ls "build-fuzz/tests/fuzz/$t/artifacts" 2>/dev/null | wc -l)
  rc=$(cat "$logdir/$t.rc")
  printf '%-12s %8s %14s %8s %s\n' "$t" "${secs:-?}" "${execs:-?}" "$corpus" "$artifacts (rc $rc)"
  [[ "$rc" == 0 ]] || status=1
done
exit $status
