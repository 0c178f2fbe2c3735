#!/usr/bin/env bash
# Reproduces the bundled default model, models/r1-tiny-reasoner.gguf, from nothing:
#
#   teacher data (r1 task) -> tokenizer (r1 tokenizer train) -> SFT (r1 train sft)
#   -> GRPO (r1 train grpo) -> evaluation, k = 8 at temperature 0.6 (r1 eval) -> results
#
# Every step resumes where it stopped when the script is run again (checkpoints, eval
# sample files). About 55 minutes on a 2-core machine (SFT 11, GRPO 43, the rest 1-2).
#
# Usage: scripts/train_default.sh [--install]
#   --install   copy the model to models/, the results table and curves to docs/results/
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

log "1. teacher data: column addition and multiplication with step-by-step traces"
"$R1" task --kinds add,mul --split train -n 30000 --seed 1 -o train.jsonl
"$R1" task --kinds add,mul --split grpo -n 4000 --seed 2 -o grpo_prompts.jsonl
"$R1" task --kinds add,mul --split id -n 150 --seed 3 -o eval_id.jsonl
"$R1" task --kinds add,mul --split ood -n 150 --seed 4 -o eval_ood.jsonl

log "2. tokenizer: byte-level BPE with the R1 special tokens"
"$R1" tokenizer train --corpus train.jsonl --vocab-size 400 \
  --chat-template "$ROOT/models/templates/deepseek-r1-distill.jinja" -o tokenizer.gguf

log "3. SFT: distillation of the teacher's traces into a new qwen2 model"
"$R1" train sft --data train.jsonl --tokenizer tokenizer.gguf --name r1-tiny-reasoner \
  --dims embd=192,layers=4,heads=4,kv-heads=2,ff=512,ctx=384 \
  --steps 450 --batch-tokens 6144 --micro-tokens 3072 --lr 2e-3 --warmup 15 \
  --log-every 5 --eval-every 25 --save-every 25 -t "$THREADS" --resume -o sft.gguf

log "4. GRPO: group sampling, verified-answer and format rewards, KL to the SFT model"
"$R1" train grpo --init sft.gguf --prompts grpo_prompts.jsonl --reward boxed-match,think-format:0.2 \
  --group 8 --prompts-per-step 16 --steps 600 --lr 2e-5 --warmup 5 --kl 0.04 --clip 0.2 \
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
node - > results.md <<'EOF'
const fs = require("fs");
const rows = [];
for (const [m, name] of [["sft", "SFT"], ["grpo", "SFT + GRPO"]])
  for (const [s, split] of [["id", "in-distribution"], ["ood", "harder (4-5 digits)"]]) {
    const j = JSON.parse(fs.readFileSync(`eval_${m}_${s}.summary.json`, "utf8")).overall;
    const pc = (x) => (100 * x).toFixed(1);
    rows.push(`| ${name} | ${split} | ${j.problems} | ${pc(j["pass@1"])} | ${pc(j["maj@k"])} | ${pc(j["pass@k"])} | ` +
              `${j.mean_reasoning_tokens.toFixed(0)} | ${pc(j.truncated_share)} |`);
  }
console.log("| model | split | problems | pass@1 (%) | maj@8 (%) | pass@8 (%) | reasoning tokens | truncated (%) |");
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
console.log(rows.join("\n"));
EOF
# The same figures as a bar chart: pass@1 and maj@8 per split, SFT beside SFT + GRPO.
node - > results.svg <<'EOF'
const fs = require("fs");
const get = (m, s) => JSON.parse(fs.readFileSync(`eval_${m}_${s}.summary.json`, "utf8")).overall;
const W = 640, H = 300, x0 = 60, y0 = 250, h = 200, bw = 28;
const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
             `<rect width="100%" height="100%" fill="white"/>`,
             `<text x="${x0}" y="20" font-weight="bold">r1 eval, k = 8, T = 0.6: SFT vs SFT + GRPO</text>`];
for (let v = 0; v <= 100; v += 25) {
  const y = y0 - (h * v) / 100;
  out.push(`<line x1="${x0}" x2="${W - 20}" y1="${y}" y2="${y}" stroke="#eee"/>`,
           `<text x="${x0 - 6}" y="${y + 4}" text-anchor="end">${v}%</text>`);
}
let x = x0 + 20;
for (const [s, split] of [["id", "in-distribution"], ["ood", "harder (4-5 digits)"]]) {
  const gx = x;
  for (const [metric, label] of [["pass@1", "pass@1"], ["maj@k", "maj@8"]]) {
    for (const [m, color] of [["sft", "#9ecae1"], ["grpo", "#3182bd"]]) {
      const v = 100 * get(m, s)[metric];
      out.push(`<rect x="${x}" y="${y0 - (h * v) / 100}" width="${bw}" height="${(h * v) / 100}" fill="${color}"/>`,
               `<text x="${x + bw / 2}" y="${y0 - (h * v) / 100 - 4}" text-anchor="middle">${v.toFixed(1)}</text>`);
      x += bw + 2;
    }
    out.push(`<text x="${x - bw - 2}" y="${y0 + 14}" text-anchor="middle">${label}</text>`);
    x += 14;
  }
  out.push(`<text x="${(gx + x - 14) / 2}" y="${y0 + 32}" text-anchor="middle" font-weight="bold">${split}</text>`);
  x += 40;
}
out.push(`<rect x="${W - 150}" y="40" width="12" height="12" fill="#9ecae1"/><text x="${W - 132}" y="50">SFT</text>`,
         `<rect x="${W - 150}" y="58" width="12" height="12" fill="#3182bd"/><text x="${W - 132}" y="68">SFT + GRPO</text>`,
         `</svg>`);
console.log(out.join("\n"));
EOF
cat results.md
echo "total: $(( ($(date +%s) - START) / 60 )) min"

if [[ $INSTALL == 1 ]]; then
  # The model, then the table and the curves (CSV + SVG) the docs show.
  cp grpo.gguf "$ROOT/models/r1-tiny-reasoner.gguf.tmp"
  mv "$ROOT/models/r1-tiny-reasoner.gguf.tmp" "$ROOT/models/r1-tiny-reasoner.gguf"
  mkdir -p "$ROOT/docs/results"
  cp results.md "$ROOT/docs/results/table.md"
  cp results.svg "$ROOT/docs/results/results.svg"
  cp sft.csv sft.svg grpo.csv grpo.svg "$ROOT/docs/results/"
  for m in sft grpo; do for s in id ood; do
    cp eval_${m}_$s.csv "$ROOT/docs/results/"
    cp eval_${m}_$s.summary.json "$ROOT/docs/results/"
  done; done
  echo "installed $ROOT/models/r1-tiny-reasoner.gguf and docs/results/"
fi
