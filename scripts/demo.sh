#!/usr/bin/env bash
# The main job on the bundled default model: installs build dependencies, builds r1,
# and answers a question with the reasoning trace shown apart from the answer.
#   scripts/demo.sh ["your question"]
# Until the project's own trained model lands in models/, the default is a small
# random-weight model generated here (its text is noise; the pipeline is real).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
scripts/setup.sh --build
cmake --preset release >/dev/null
cmake --build build -j"${R1_JOBS:-2}" --target r1
model="models/r1-default.gguf"
if [[ ! -f "$model" ]]; then
  model="build/r1-random-default.gguf"
  [[ -f "$model" ]] || ./build/r1 gen-model --arch qwen2 --preset tiny --seed 7 \
      --chat-template models/templates/deepseek-r1-distill.jinja -o "$model"
fi
exec ./build/r1 run -m "$model" -p "${1:-How many primes are below 50?}" -n 96
