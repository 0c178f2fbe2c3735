#!/usr/bin/env bash
# Reproduces the bundled default model, models/r1-tiny-reasoner.gguf, from nothing:
#
#   teacher data (r1 task) -> tokenizer (r1 tokenizer train) -> SFT (r1 train sft)
#   -> GRPO (r1 train grpo) -> evaluation, k = 8 at temperature 0.6 (r1 eval) -> results
#
# Every step resumes where it stopped when the script is run again (checkpoints, eval
# sample files). About 80 minutes on a 2-core machine that is otherwise idle.
#
# Usage: scripts/train_default.sh [--install]
#   --install   copy the model to models/ and the results table to docs/results.md
# Environment: R1 (the r1 program; default: build it in build/), WORK (working directory,
# default build/train-default), THREADS (default 2).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$ROOT/build/train-default}
THREADS=${THREADS:-2}
INSTALL=0
[[ "${1:-}" == "--install" ]] && INSTALL=1

if [[ -z "${R1:-}" ]]; then
  cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$ROOT/build" r1
  R1=$ROOT/build/r1
fi
mkdir -p "$WORK"
cd "$WORK"
log() { printf '\n== %s  (%s)\n' "$*" "$(date +%H:%M:%S)"; }
START=$(date +%s)

log "1. teacher data: arithmetic and countdown with step-by-step traces"
"$R1" task --kinds add,mul,countdown --split train -n 30000 --seed 1 -o train.jsonl
"$R1" task --kinds add,mul,countdown --split grpo -n 4000 --seed 2 -o grpo_prompts.jsonl
"$R1" task --kinds add,mul,countdown --split id -n 150 --seed 3 -o eval_id.jsonl
"$R1" task --kinds add,mul,countdown --split ood -n 150 --seed 4 -o eval_ood.jsonl

log "2. tokenizer: byte-level BPE with the R1 special tokens"
"$R1" tokenizer train --corpus train.jsonl --vocab-size 400 \
  --chat-template "$ROOT/models/templates/deepseek-r1-distill.jinja" -o tokenizer.gguf

log "3. SFT: distillation of the teacher's traces into a new qwen2 model"
"$R1" train sft --data train.jsonl --tokenizer tokenizer.gguf --name r1-tiny-reasoner \
  --dims embd=192,layers=4,heads=4,kv-heads=2,ff=512,ctx=384 \
  --steps 250 --batch-tokens 6144 --micro-tokens 3072 --lr 2e-3 --warmup 15 \
  --log-every 5 --eval-every 25 --save-every 25 -t "$THREADS" --resume -o sft.gguf

log "4. GRPO: group sampling, verified-answer and format rewards, KL to the SFT model"
"$R1" train grpo --init sft.gguf --prompts grpo_prompts.jsonl --reward boxed-match,think-format:0.2 \
  --group 8 --prompts-per-step 16 --steps 60 --lr 2e-5 --warmup 5 --kl 0.04 --clip 0.2 \
  --temp 1.0 --max-tokens 320 --batch 64 -t "$THREADS" --save-every 5 --resume -o grpo.gguf

log "5. evaluation: k = 8 samples at temperature 0.6, in-distribution and harder splits"
for m in sft grpo; do
  for s in id ood; do
    "$R1" eval -m $m.gguf --data eval_$s.jsonl -k 8 --temp 0.6 --top-p 0.95 --max-tokens 400 \
      --batch 64 -t "$THREADS" -q -o eval_${m}_$s.jsonl > eval_${m}_$s.txt
    cat eval_${m}_$s.txt
  done
done

log "6. results"
python3 - <<'EOF' > results.md
import json
rows = []
for m, name in (("sft", "SFT"), ("grpo", "SFT + GRPO")):
    for s, split in (("id", "in-distribution"), ("ood", "harder (out of distribution)")):
        j = json.load(open(f"eval_{m}_{s}.summary.json"))["overall"]
        rows.append(f"| {name} | {split} | {j['problems']} | {100*j['pass@1']:.1f} | {100*j['maj@k']:.1f} | "
                    f"{100*j['pass@k']:.1f} | {j['mean_reasoning_tokens']:.0f} | {100*j['truncated_share']:.1f} |")
print("| model | split | problems | pass@1 (%) | maj@8 (%) | pass@8 (%) | reasoning tokens | truncated (%) |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
print("\n".join(rows))
EOF
cat results.md
echo "total: $(( ($(date +%s) - START) / 60 )) min"

if [[ $INSTALL == 1 ]]; then
  cp grpo.gguf "$ROOT/models/r1-tiny-reasoner.gguf"
  echo "installed $ROOT/models/r1-tiny-reasoner.gguf"
fi
