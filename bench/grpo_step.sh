#!/usr/bin/env bash
# Seconds per GRPO step on the bundled model's configuration (qwen2, 1.75 M parameters,
# the settings of scripts/train_default.sh: 16 prompts x 8 samples of up to 320 tokens),
# for one or more builds of r1, run ALTERNATELY (A, B, B, A, ...) so that a noisy machine
# disturbs them alike. Each run starts from the bundled model with the same seed, so every
# build samples the same rollouts when its numerics agree.
#
# usage: bench/grpo_step.sh [-s STEPS] [-k ROUNDS] [-t THREADS] BUILD_DIR [BUILD_DIR ...]
#   e.g. bench/grpo_step.sh build /tmp/r1-base/build
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
steps=4 rounds=2 threads=2
while getopts "s:k:t:h" opt; do
  case "$opt" in
    s) steps="$OPTARG" ;; k) rounds="$OPTARG" ;; t) threads="$OPTARG" ;;
    *) sed -n '2,10p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
(($# >= 1)) || { sed -n '2,10p' "$0"; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
first="$1/r1"
"$first" task --kinds add,mul --split grpo -n 400 --seed 2 -o "$work/prompts.jsonl" >/dev/null

run() {  # build dir -> seconds per step
  local out="$work/grpo-$RANDOM.gguf"
  local t0 t1
  t0=$(date +%s.%N)
  "$1/r1" train grpo --init "$root/models/r1-tiny-reasoner.gguf" --prompts "$work/prompts.jsonl" \
    --reward boxed-match,think-format:0.2 --group 8 --prompts-per-step 16 --steps "$steps" --lr 2e-5 \
    --warmup 5 --kl 0.04 --clip 0.2 --temp 1.0 --max-tokens 320 --batch 64 -t "$threads" --save-every 0 \
    -o "$out" >/dev/null 2>&1
  t1=$(date +%s.%N)
  rm -f "${out%.gguf}"*
  awk -v a="$t0" -v b="$t1" -v n="$steps" 'BEGIN { printf "%.3f", (b - a) / n }'
}

declare -A total
for ((k = 0; k < rounds; ++k)); do
  order=("$@")
  ((k % 2 == 1)) && order=($(printf '%s\n' "$@" | tac))
  for b in "${order[@]}"; do
    s=$(run "$b")
    echo "round $((k + 1)) $b: $s s/step" >&2
    total[$b]="${total[$b]:-} $s"
  done
done
echo "| build | s/step (each round) | mean |"
echo "| --- | --- | ---: |"
for b in "$@"; do
  mean=$(echo "${total[$b]}" | awk '{s = 0; for (i = 1; i <= NF; ++i) s += $i; printf "%.3f", s / NF}')
  echo "| $b | ${total[$b]} | $mean |"
done
