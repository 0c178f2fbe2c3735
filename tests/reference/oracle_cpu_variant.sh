#!/usr/bin/env bash
# Chooses which of node-llama-cpp's prebuilt CPU variants llama.cpp loads as the oracle.
#
#   tests/reference/oracle_cpu_variant.sh pin    (what scripts/setup.sh runs)
#   tests/reference/oracle_cpu_variant.sh best   (llama.cpp's own choice, e.g. for speed runs)
#
# ggml loads the highest-scoring libggml-cpu-<variant>.so of the bins folder that the CPU
# supports. On Intel CPUs with AMX (Sapphire Rapids and later) that is the "sapphirerapids"
# build, which differs from every other variant in two ways that make it unusable as a
# numeric oracle: its F16 dot products use AVX512-FP16 arithmetic (F16 products rounded
# to F16: up to 8e-3 in log p on the tiny F16 test models, against ~1e-6 for the zen4 /
# icelake builds), and it aborts on deepseek2 Q8_0 files
# (GGML_ASSERT(*cur_backend_id != -1) in ggml-backend.cpp, the AMX buffer type).
# `pin` moves that variant into a disabled/ sub-folder, where ggml does not look, so the
# oracle is the zen4-class AVX-512 build on every AVX-512 machine (AMD or Intel) and the
# haswell build on AVX2-only ones. Idempotent.
set -euo pipefail
bins="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
[[ -d "$bins" ]] || exit 0
variants=(sapphirerapids)
case "${1:-pin}" in
  pin)
    mkdir -p "$bins/disabled"
    for v in "${variants[@]}"; do
      f="libggml-cpu-$v.so"
      [[ -f "$bins/$f" ]] && mv -f "$bins/$f" "$bins/disabled/$f"
    done ;;
  best)
    for v in "${variants[@]}"; do
      f="libggml-cpu-$v.so"
      [[ -f "$bins/disabled/$f" ]] && mv -f "$bins/disabled/$f" "$bins/$f"
    done ;;
  *) echo "usage: $0 pin|best" >&2; exit 2 ;;
esac
exit 0
