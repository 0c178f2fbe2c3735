#!/usr/bin/env bash
# Speed of `r1 convert` against the disk: a BF16 Hugging Face checkpoint with the
# R1-Distill-Qwen-1.5B layer shapes (4 layers, the full 151,936-token embedding and
# output: about 1.3 GB) converted to BF16 (a pure stream: read, write, fsync, rename)
# and to F16 (a conversion per element), against `cp` + fsync and `dd bs=16M conv=fsync`
# of the same safetensors file on the same filesystem (what "disk speed" means here).
# Runs alternate (cp, dd, convert bf16, convert f16) x ROUNDS with the page cache warm for all of them.
# Prints MB/s of checkpoint bytes and the ratios. Needs /usr/bin/python3 with numpy.
#   bench/convert_speed.sh [BUILD_DIR]   (R1_BENCH_DIR: scratch, default /tmp/r1-convert-bench)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
r1="${1:-$here/build}/r1"
work="${R1_BENCH_DIR:-/tmp/r1-convert-bench}"
rounds="${ROUNDS:-3}"
mkdir -p "$work"
lscpu | grep -m1 'Model name' || true
if [[ ! -f "$work/ckpt/model.safetensors" ]]; then
  "$r1" gen-model --arch qwen2 --vocab 151936 --embd 1536 --layers 4 --heads 12 --heads-kv 2 --head-dim 128 \
    --ff 8960 -o "$work/twin.gguf"
  /usr/bin/python3 "$here/tests/reference/tools/hf_writer.py" "$work/twin.gguf" "$work/ckpt" --dtype bf16
  rm -f "$work/twin.gguf"
fi
bytes=$(stat -c %s "$work/ckpt/model.safetensors")
cat "$work/ckpt/model.safetensors" > /dev/null  # warm the page cache
now() { date +%s.%N; }
declare -A total=([copy]=0 [dd]=0 [bf16]=0 [f16]=0)
for ((r = 1; r <= rounds; r++)); do
  t0=$(now); cp "$work/ckpt/model.safetensors" "$work/copy.bin" && sync -f "$work/copy.bin"; t1=$(now)
  total[copy]=$(echo "${total[copy]} + $t1 - $t0" | bc)
  t0=$(now); dd if="$work/ckpt/model.safetensors" of="$work/dd.bin" bs=16M conv=fsync status=none; t1=$(now)
  total[dd]=$(echo "${total[dd]} + $t1 - $t0" | bc)
  for ty in bf16 f16; do
    t0=$(now); "$r1" convert "$work/ckpt" -o "$work/out-$ty.gguf" --type "$ty" -q 2>/dev/null; t1=$(now)
    total[$ty]=$(echo "${total[$ty]} + $t1 - $t0" | bc)
  done
  rm -f "$work/copy.bin" "$work/dd.bin" "$work/out-bf16.gguf" "$work/out-f16.gguf"
done
mbs() { echo "scale=0; $bytes * $rounds / ${total[$1]} / 1000000" | bc; }
echo "checkpoint: $((bytes / 1000000)) MB BF16, $rounds rounds, threads: r1 default (physical cores)"
echo "cp + fsync:          $(mbs copy) MB/s"
echo "dd bs=16M fsync:     $(mbs dd) MB/s"
echo "r1 convert bf16:     $(mbs bf16) MB/s  (ratio to cp: $(echo "scale=2; ${total[copy]} / ${total[bf16]}" | bc))"
echo "r1 convert f16:      $(mbs f16) MB/s  (ratio to cp: $(echo "scale=2; ${total[copy]} / ${total[f16]}" | bc))"
