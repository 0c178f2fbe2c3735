// `r1 convert` and `-m DIR` of Hugging Face checkpoints, against an independent test writer
// and llama.cpp.
//
// For every family (qwen2, llama with Llama-3 RoPE scaling, qwen3, deepseek2 as tiny-v3 (q
// LoRA, sigmoid router with selection bias, YaRN) and tiny-v2lite (plain q, softmax router,
// YaRN mscale 0.707)): `r1 gen-model` writes an F32 GGUF twin; tools/hf_writer.py (numpy,
// written from the safetensors / transformers layouts, no r1 code) writes the HF directory
// of the same weights (transformers names, rotate-half q/k rows for llama, one matrix per
// expert, the fused MLA kv_b_proj, config.json, tokenizer.json, tokenizer_config.json,
// generation_config.json) and the "expected" twin: the values the checkpoint stores (the twin
// itself for F32 storage; BF16 / F16 rounding or the FP8 block dequantization otherwise).
// Then:
//   - `r1 convert DIR --type f32` has exactly the expected tensors (tools/gguf_compare.py);
//   - llama.cpp's teacher-forced log-distributions of the converted file and of the expected
//     twin agree: max |d log p| over the whole vocabulary, every position, <= 1e-5;
//   - `r1 convert DIR` (auto type) stores the checkpoint's precision (BF16 for BF16 and FP8
//     checkpoints, F16 for F16) with exactly the expected values (for FP8: rounded to BF16);
//   - `r1 run -m DIR` gives the same 32 greedy tokens as `r1 run -m` the converted file of the
//     same types (the F32 one for F32 checkpoints, the auto one for BF16 / F16; not FP8).
// Variants: F32 single file for all; deepseek2 tiny-v3 also as 3 F32 shards and as FP8 with
// 128 x 128 block scales in 2 shards; qwen2 as BF16; llama as F16 in 2 shards.
//
// Environment: R1_BIN, R1_TMP (see README.md); /usr/bin/python3 with numpy (python3-numpy,
// installed by scripts/setup.sh).
import {test, after} from "node:test";
import assert from "node:assert/strict";
import {execFile} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";

import * as L from "./lib/llama.mjs";

const R1_BIN = process.env.R1_BIN;
const TMP = process.env.R1_TMP || path.join(os.tmpdir(), "r1-ref-hf");
const HERE = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = "/usr/bin/python3";
const WRITER = path.join(HERE, "tools", "hf_writer.py");
const COMPARE = path.join(HERE, "tools", "gguf_compare.py");
const POSITIONS = 96, GREEDY_TOKENS = 32, LIMIT = 1e-5;

const FAMILIES = [
  {name: "qwen2", gen: ["--arch", "qwen2"], seed: 11, variants: [["f32", 1], ["bf16", 1]]},
  {name: "llama", gen: ["--arch", "llama"], seed: 12, variants: [["f32", 1], ["f16", 2]]},
  {name: "qwen3", gen: ["--arch", "qwen3"], seed: 13, variants: [["f32", 1]]},
  {name: "deepseek2-v3", gen: ["--arch", "deepseek2", "--preset", "tiny-v3", "--nextn", "0"], seed: 14,
   variants: [["f32", 1], ["f32", 3], ["fp8", 2]]},
  {name: "deepseek2-v2lite", gen: ["--arch", "deepseek2", "--preset", "tiny-v2lite"], seed: 15,
   variants: [["f32", 1]]},
];
const AUTO_TYPE = {bf16: 30, fp8: 30, f16: 1};  // ggml type ids of the matrices in an auto conversion

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, {maxBuffer: 256 << 20, encoding: "utf8"}, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(cmd)} ${args.join(" ")} failed (${err.code ?? err.signal}):\n${stderr}`));
      else resolve(stdout);
    });
  });
}

// Deterministic token ids below `n` (a fixed LCG), the same for every file of a family.
function ids(n, count, seed) {
  const out = [];
  let x = seed >>> 0;
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out.push(x % n);
  }
  return out;
}

function maxAbsDiff(a, b) {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    assert.equal(a[i].length, b[i].length, `position ${i}: vocab size`);
    for (let t = 0; t < a[i].length; t++) {
      const x = a[i][t], y = b[i][t];
      if (x === -Infinity && y === -Infinity) continue;
      const d = Math.abs(x - y);
      if (!(d <= worst)) worst = d;  // NaN counts as worst
    }
  }
  return worst;
}

async function greedyOf(model) {
  const out = JSON.parse(await run(R1_BIN, ["run", "-m", model, "--raw", "-p", "Once upon a time, 12 + 30 =",
                                            "--temp", "0", "-n", String(GREEDY_TOKENS), "--ignore-eos", "--json",
                                            "-t", "1"]));
  return out.tokens;
}

after(() => L.shutdown());

for (const fam of FAMILIES) {
  for (const [dtype, shards] of fam.variants) {
    const label = `${fam.name} ${dtype} x${shards}`;
    test(`convert ${label}: expected tensors, llama.cpp logits, auto type, run -m DIR`,
         {skip: !R1_BIN && "R1_BIN not set", timeout: 600_000}, async () => {
      const dir = path.join(TMP, "hf", `${fam.name}-${dtype}-${shards}`);
      fs.rmSync(dir, {recursive: true, force: true});
      fs.mkdirSync(dir, {recursive: true});
      const twin = path.join(dir, "twin.gguf"), expected = path.join(dir, "expected.gguf");
      const hf = path.join(dir, "checkpoint"), conv = path.join(dir, "converted.gguf");
      const auto = path.join(dir, "auto.gguf");
      await run(R1_BIN, ["gen-model", ...fam.gen, "--seed", String(fam.seed), "-o", twin]);
      await run(PYTHON, [WRITER, twin, hf, "--dtype", dtype, "--shards", String(shards), "--expected", expected]);
      if (shards > 1) assert.ok(fs.existsSync(path.join(hf, "model.safetensors.index.json")), "sharded checkpoint");

      await run(R1_BIN, ["convert", hf, "-o", conv, "--type", "f32", "-q"]);
      const cmp = JSON.parse(await run(PYTHON, [COMPARE, expected, conv]));
      assert.deepEqual(cmp.only_a, [], "tensors missing from the conversion");
      assert.deepEqual(cmp.only_b, [], "tensors the checkpoint does not have");
      assert.deepEqual(cmp.differ, [], "tensors whose values differ from the checkpoint's");
      assert.ok(cmp.tensors > 10);

      const nVocab = await L.vocabSize(expected);
      const seq = ids(Math.min(nVocab, 600), POSITIONS, fam.seed);
      const ref = await L.teacherForced(expected, seq);
      await L.unloadModel(expected);
      const ours = await L.teacherForced(conv, seq);
      await L.unloadModel(conv);
      const d = maxAbsDiff(ref.logprobs, ours.logprobs);
      console.log(`${label}: ${cmp.tensors} tensors identical; llama.cpp max |d log p| ${d.toExponential(2)}`);
      assert.ok(d <= LIMIT, `${label}: max |d log p| ${d} > ${LIMIT}`);

      if (dtype !== "f32") {
        await run(R1_BIN, ["convert", hf, "-o", auto, "-q"]);
        // FP8 blocks dequantize to values BF16 cannot all hold: expect them rounded to nearest even.
        const a = JSON.parse(await run(PYTHON, [COMPARE, expected, auto, ...(dtype === "fp8" ? ["--round-to-b"] : [])]));
        assert.deepEqual(a.differ, [], "auto conversion: values differ from the checkpoint's");
        const embd = a.types_b["token_embd.weight"], norm = a.types_b["output_norm.weight"];
        assert.equal(embd, AUTO_TYPE[dtype], `auto conversion of a ${dtype} checkpoint stores type ${embd}`);
        assert.equal(norm, 0, "norm weights are F32 in every conversion");
      }

      // -m DIR runs the checkpoint's own types, as the auto conversion stores them (F32 ones
      // as the F32 conversion). Not for FP8: there -m DIR runs the dequantized FP8 weights in
      // F32 beside the checkpoint's BF16 ones, a mix no conversion type writes.
      if (dtype !== "fp8") {
        const fromDir = await greedyOf(hf), fromFile = await greedyOf(dtype === "f32" ? conv : auto);
        assert.equal(fromDir.length, GREEDY_TOKENS);
        assert.deepEqual(fromDir, fromFile, `${label}: run -m DIR and run -m the converted file differ`);
      }
    });
  }
}
