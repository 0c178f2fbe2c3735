#!/usr/bin/env bash
# Speed of `r1 quantize` against llama.cpp's llama-quantize (llama_model_quantize from
# node-llama-cpp's libllama, llama.cpp v0.4.0, timed by bench/llama_quantize_harness.cpp)
# on the R1-Distill-Qwen-1.5B-shaped F16 file of `r1 gen-model`, same type, same threads.
# Runs alternate (llama.cpp, r1) x ROUNDS with the input in the page cache; both write
# their output to the same directory (r1 also fsyncs it: the atomic writer). The outputs
# are compared byte for byte per tensor with `cmp` of the whole files skipped (metadata
# order differs); the reference tests check the bytes.
#   bench/quantize_speed.sh [BUILD_DIR]   (TYPE=q4_k_m, THREADS=2, ROUNDS=2, R1_BENCH_DIR)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
r1="${1:-$here/build}/r1"
type="${TYPE:-q4_k_m}"
threads="${THREADS:-2}"
rounds="${ROUNDS:-2}"
work="${R1_BENCH_DIR:-/tmp/r1-quantize-bench}"
lib="$here/tests/reference/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libllama.v0.4.0.so"
declare -A ftype=([q4_0]=2 [q4_1]=3 [q8_0]=7 [q5_0]=8 [q5_1]=9 [q2_k]=10 [q3_k_s]=11 [q3_k_m]=12 [q3_k_l]=13
                  [q4_k_s]=14 [q4_k_m]=15 [q5_k_s]=16 [q5_k_m]=17 [q6_k]=18 [iq4_nl]=25 [iq4_xs]=30)
[[ -f "$lib" ]] || { echo "llama.cpp's libllama is not installed ($lib); run scripts/setup.sh"; exit 1; }
mkdir -p "$work"
g++ -O2 -o "$work/harness" "$here/bench/llama_quantize_harness.cpp" -ldl
echo "cpu: $(lscpu | grep -m1 'Model name' | sed 's/.*: *//'), $(nproc) cpus; threads: $threads"
echo "load before the runs (other work on the machine): $(cut -d' ' -f1-3 /proc/loadavg)"
in="$work/r1-distill-qwen-1.5b-f16.gguf"
[[ -f "$in" ]] || "$r1" gen-model --preset r1-distill-qwen-1.5b --dtype f16 -o "$in"
cat "$in" > /dev/null
now() { date +%s.%N; }
t_llama=0 t_r1=0
for ((r = 1; r <= rounds; r++)); do
  rm -f "$work/llama.gguf" "$work/r1.gguf"
  s=$("$work/harness" "$lib" "$in" "$work/llama.gguf" "${ftype[$type]}" "$threads" | sed 's/seconds //')
  t_llama=$(echo "$t_llama + $s" | bc)
  t0=$(now); "$r1" quantize -q "$in" "$work/r1.gguf" "$type" --threads "$threads" 2>/dev/null; t1=$(now)
  s2=$(echo "$t1 - $t0" | bc)
  t_r1=$(echo "$t_r1 + $s2" | bc)
  echo "round $r: llama.cpp $s s, r1 $s2 s (load now $(cut -d' ' -f1 /proc/loadavg))"
done
echo "file: $((($(stat -c %s "$in")) / 1000000)) MB F16 -> $type ($((($(stat -c %s "$work/r1.gguf")) / 1000000)) MB)"
echo "llama.cpp llama_model_quantize: $(echo "scale=2; $t_llama / $rounds" | bc) s (mean of $rounds)"
echo "r1 quantize:                    $(echo "scale=2; $t_r1 / $rounds" | bc) s (mean of $rounds)"
echo "ratio llama.cpp / r1 (> 1: r1 faster): $(echo "scale=3; $t_llama / $t_r1" | bc)"
rm -f "$work/llama.gguf" "$work/r1.gguf"
