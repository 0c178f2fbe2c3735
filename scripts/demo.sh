#!/usr/bin/env bash
# The main job on the bundled default model: installs build dependencies, builds r1,
# and answers a question with the reasoning trace shown apart from the answer.
#   scripts/demo.sh ["your question"]
# The default model is the project's own: models/r1-tiny-reasoner.gguf, a 1.75M-parameter
# qwen2 model distilled and RL-trained on column arithmetic by scripts/train_default.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
scripts/setup.sh --build
cmake --preset release >/dev/null
cmake --build build -j"${R1_JOBS:-2}" --target r1
exec ./build/r1 run -m models/r1-tiny-reasoner.gguf -p "${1:-What is 457 + 386?}" -n 400
