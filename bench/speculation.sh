#!/usr/bin/env bash
# Speculative decoding, measured (a benchmark, not a test; nothing else should run):
#  1. decode tokens/s of the bundled model's reasoning on N addition problems, greedy,
#     alternating plain / --spec ngram / --draft (the model drafting for itself, the upper
#     bound of acceptance) problem by problem; tokens must be identical.
#  2. the cost of verifying k drafted tokens in one step on the R1-Distill-Qwen-1.5B shape
#     (`r1 gen-model`, DTYPE default q8_0): r1 bench pp(1+k) time / pp1 time at depth D.
# Usage: bench/speculation.sh [N=20] [DTYPE=q8_0] [D=512]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
dtype=${2:-q8_0}
depth=${3:-512}
r1=./build/r1
model=models/r1-tiny-reasoner.gguf
big=${R1_BENCH_DIR:-/tmp}/r1-spec-1.5b-$dtype.gguf
lscpu | grep -m1 "Model name" || true
grep -q avx512f /proc/cpuinfo && echo "CPU kind: AVX-512" || echo "CPU kind: AVX2-only"

python3 - "$r1" "$model" "$n" <<'PY'
import json, random, subprocess, sys
r1, model, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
modes = {"plain": [], "ngram": ["--spec", "ngram"], "draft": ["--draft", model, "--draft-p-min", "0"]}
random.seed(1)
tot = {m: [0.0, 0, 0, 0] for m in modes}
same = True
for i in range(n):
    q = f"What is {random.randint(100, 999)} + {random.randint(10, 999)}?"
    toks = {}
    for m, flags in modes.items():
        out = subprocess.run([r1, "run", "-m", model, "--json", "--temp", "0", "-p", q] + flags,
                             capture_output=True, text=True, check=True).stdout
        j = json.loads(out); t = j["timings"]
        tot[m][0] += t["predicted_ms"]; tot[m][1] += t["predicted_n"]
        tot[m][2] += t.get("draft_n", 0); tot[m][3] += t.get("draft_n_accepted", 0)
        toks[m] = j["tokens"]
    same = same and all(v == toks["plain"] for v in toks.values())
base = tot["plain"][1] * 1000 / tot["plain"][0]
print(f"\nbundled model, {n} problems, greedy")
print("| mode | tokens | decode tok/s | vs plain | drafts accepted |")
print("| --- | ---: | ---: | ---: | ---: |")
for m, (ms, nt, d, a) in tot.items():
    tps = nt * 1000 / ms
    acc = f"{a}/{d} = {100 * a / d:.0f} %" if d else "-"
    print(f"| {m} | {nt} | {tps:.0f} | {tps / base:.2f}x | {acc} |")
print("identical tokens in every mode" if same else "TOKENS DIFFER")
PY

[[ -f "$big" ]] || "$r1" gen-model --preset r1-distill-qwen-1.5b --dtype "$dtype" -o "$big" >/dev/null
echo
echo "verification cost, 1.5B shape $dtype, depth $depth (r1 bench, 5 repetitions)"
"$r1" bench -m "$big" -p 1,5,9 -n 0 -d "$depth" -r 5 -o jsonl | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
t = {r["n_prompt"]: r["n_prompt"] / r["avg_ts"] for r in rows}
print("| tokens in the step | ms | vs one decode step |")
print("| --- | ---: | ---: |")
for k in sorted(t):
    print(f"| {k} (1 + {k - 1} drafts) | {t[k] * 1000:.1f} | {t[k] / t[1]:.2f}x |")
'
