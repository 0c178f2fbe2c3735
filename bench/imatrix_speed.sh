#!/usr/bin/env bash
# Speed of `r1 imatrix` against llama.cpp's llama-imatrix (built from the llama.cpp source
# node-llama-cpp ships by tests/reference/lib/llama_tools.mjs, linked to its binaries) on
# the R1-Distill-Qwen-1.5B-shaped file of `r1 gen-model` (DTYPE, default f16), same text,
# chunk size, threads; runs alternate (llama.cpp, r1) x ROUNDS. llama-imatrix batches one
# chunk per batch (-b = -ub = -c), as r1 does, so both compute the same file.
#   bench/imatrix_speed.sh [BUILD_DIR]   (DTYPE=f16, CTX=512, CHUNKS=2, THREADS=2, ROUNDS=2)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
r1="${1:-$here/build}/r1"
dtype="${DTYPE:-f16}" ctx="${CTX:-512}" chunks="${CHUNKS:-2}" threads="${THREADS:-2}" rounds="${ROUNDS:-2}"
work="${R1_BENCH_DIR:-/tmp/r1-imatrix-bench}"
mkdir -p "$work"
tools=$(cd "$here/tests/reference" && node -e "import('./lib/llama_tools.mjs').then(m => console.log(m.llamaTools('$work').imatrix))")
model="$work/r1-distill-qwen-1.5b-$dtype.gguf"
[[ -f "$model" ]] || "$r1" gen-model --preset r1-distill-qwen-1.5b --dtype "$dtype" -o "$model"
text="$work/calib.txt"
python3 -c "
import random; random.seed(7)
w='the of and to in is that for it as with was on be by this are or from at which but have an not they'.split()
print(' '.join(random.choice(w) for _ in range(3000)))" > "$text"
cat "$model" > /dev/null
echo "cpu: $(lscpu | grep -m1 'Model name' | sed 's/.*: *//'), $(nproc) cpus; threads: $threads; load: $(cut -d' ' -f1-3 /proc/loadavg)"
now() { date +%s.%N; }
t_llama=0 t_r1=0
for ((r = 1; r <= rounds; r++)); do
  t0=$(now)
  "$tools" -m "$model" -f "$text" -o "$work/llama.imatrix.gguf" -c "$ctx" -b "$ctx" -ub "$ctx" --chunks "$chunks" \
    -t "$threads" --no-ppl > "$work/llama.log" 2>&1
  t1=$(now)
  "$r1" imatrix -q -m "$model" -f "$text" -o "$work/r1.imatrix.gguf" -c "$ctx" --chunks "$chunks" -t "$threads" --no-ppl 2>/dev/null
  t2=$(now)
  a=$(echo "$t1 - $t0" | bc) b=$(echo "$t2 - $t1" | bc)
  t_llama=$(echo "$t_llama + $a" | bc) t_r1=$(echo "$t_r1 + $b" | bc)
  echo "round $r: llama-imatrix $a s, r1 imatrix $b s (load now $(cut -d' ' -f1 /proc/loadavg))"
done
echo "$chunks chunks x $ctx tokens, $dtype, wall time including load (mean of $rounds)"
echo "llama-imatrix: $(echo "scale=2; $t_llama / $rounds" | bc) s; r1 imatrix: $(echo "scale=2; $t_r1 / $rounds" | bc) s"
echo "ratio llama.cpp / r1 (> 1: r1 faster): $(echo "scale=3; $t_llama / $t_r1" | bc)"
cmp -s "$work/llama.imatrix.gguf" "$work/r1.imatrix.gguf" && echo "files: identical" || echo "files: differ (see tests/reference/imatrix.test.mjs for the tolerance)"
