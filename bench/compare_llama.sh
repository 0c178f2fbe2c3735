#!/usr/bin/env bash
# Side by side: r1 vs llama.cpp (node-llama-cpp 3.21.1) on the same random-weight files
# with the R1-Distill-Qwen-1.5B shapes, same thread count, run ALTERNATELY (r1, llama.cpp,
# llama.cpp, r1, ...) so that a noisy machine disturbs both sides alike. Prints one
# markdown table (per file and test: both rates and the ratio r1 / llama.cpp) plus the
# machine and its load; the raw JSON lines stay in the cache directory.
#
# usage: bench/compare_llama.sh [-b BUILD_DIR] [-c CACHE_DIR] [-t THREADS] [-r REPS]
#                               [-k ROUNDS] [-f "q4_0 q8_0 q4_k_m"] [-p 128] [-n 128] [-d 2048]
#   BUILD_DIR  where r1 was built (default: build)          CACHE_DIR  model files (default: build/bench-models)
#   ROUNDS     alternations per file (default 2)            -d 0       skips the depth test
#   files: q4_0, q8_0, q4_k_m (R1-Distill-Qwen-1.5B shapes) and v2lite-q4_0 (DeepSeek-V2-Lite
#   shapes, MLA + MoE, 8.85 GB; issue 6: bench/compare_llama.sh -f v2lite-q4_0 -n 32 -d 0 -r 2)
# Before every run the page cache is dropped where the system allows it (root), so that
# neither engine runs while the other's memory is being reclaimed (with 8.85 GB files both
# cannot stay resident on a 24 GB machine); llama.cpp, which maps the file, then gets it
# pre-read into the page cache so that its timed runs do not wait on the disk (r1 reads
# the weights into its own memory at load, before timing).
# Needs: node (tests/reference/node_modules installed: cd tests/reference && npm ci).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="$root/build"
cache="$root/build/bench-models"
threads=2 reps=3 rounds=2 p=128 n=128 d=2048
files="q4_0 q8_0 q4_k_m"
while getopts "b:c:t:r:k:f:p:n:d:h" opt; do
  case "$opt" in
    b) build="$OPTARG" ;; c) cache="$OPTARG" ;; t) threads="$OPTARG" ;; r) reps="$OPTARG" ;;
    k) rounds="$OPTARG" ;; f) files="$OPTARG" ;; p) p="$OPTARG" ;; n) n="$OPTARG" ;; d) d="$OPTARG" ;;
    *) sed -n '2,13p' "$0"; exit 2 ;;
  esac
done
r1="$build/r1"
[[ -x "$r1" ]] || { echo "compare_llama.sh: no r1 program at $r1 (use -b BUILD_DIR)" >&2; exit 2; }
[[ -d "$root/tests/reference/node_modules/node-llama-cpp" ]] ||
  { echo "compare_llama.sh: run 'npm ci' in tests/reference first" >&2; exit 2; }
mkdir -p "$cache"
raw="$cache/results-$(date +%Y%m%d-%H%M%S).jsonl"

# The two test sets: prefill + decode on an empty context, then decode at depth.
sets=("-p $p -n $n -d 0")
[[ "$d" != 0 ]] && sets+=("-p 0 -n $n -d $d")

drop_caches() {
  sync
  if [[ -w /proc/sys/vm/drop_caches ]]; then echo 3 > /proc/sys/vm/drop_caches; fi
}
run_r1() {  # file, test set
  drop_caches
  # shellcheck disable=SC2086
  "$r1" bench -m "$1" $2 -t "$threads" -r "$reps" -o jsonl >> "$raw"
}
run_llama() {  # file, test set
  drop_caches
  cat "$1" > /dev/null
  # shellcheck disable=SC2086
  node "$here/llama_bench.mjs" -m "$1" $2 -t "$threads" -r "$reps" >> "$raw"
}

for f in $files; do
  case "$f" in
    v2lite-*) model="$cache/deepseek-v2-lite-${f#v2lite-}.gguf"
              gen=(--arch deepseek2 --preset deepseek-v2-lite --dtype "${f#v2lite-}") ;;
    *) model="$cache/r1-distill-qwen-1.5b-$f.gguf"; gen=(--preset r1-distill-qwen-1.5b --dtype "$f") ;;
  esac
  if [[ ! -s "$model" ]]; then
    echo "generating $model" >&2
    "$r1" gen-model "${gen[@]}" -o "$model.tmp" >&2
    mv "$model.tmp" "$model"
  fi
  for ((k = 0; k < rounds; ++k)); do
    for s in "${sets[@]}"; do
      echo "[$f round $((k + 1))/$rounds] $s (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
      if ((k % 2 == 0)); then run_r1 "$model" "$s"; run_llama "$model" "$s";
      else run_llama "$model" "$s"; run_r1 "$model" "$s"; fi
    done
  done
done

echo "raw results: $raw" >&2
node "$here/compare_report.mjs" "$raw" "$threads"
