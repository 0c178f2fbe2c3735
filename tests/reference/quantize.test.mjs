// `r1 quantize` output in llama.cpp: an F32 model written by `r1 gen-model` (qwen2 and
// llama tiny shapes, and the deepseek2 MoE tiny-v3) is quantized by `r1 quantize` to
// Q4_K_M (also Q3_K_M and IQ4_XS for qwen2); llama.cpp (node-llama-cpp 3.21.1) must load
// the file, and its teacher-forced next-token distributions over a 256-token sequence
// must match r1's on the same file: mean KL(llama.cpp || r1) <= 5e-3 and top-1 agreement
// >= 98 % (the limits forward.test.mjs uses for quantized files). That the file's bytes
// are llama-quantize's own is quantize_file_oracle_test's job.
//
// Environment: R1_BIN (skipped without it), R1_TMP (scratch directory).
import {test, after} from "node:test";
import assert from "node:assert/strict";
import {execFile} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import * as L from "./lib/llama.mjs";
import {compareDistributions, logSoftmax, readLogitsBin} from "./lib/compare.mjs";

const R1_BIN = process.env.R1_BIN;
const TMP = process.env.R1_TMP || path.join(os.tmpdir(), "r1-ref-quantize");
const skip = R1_BIN ? false : "R1_BIN is not set (path to the built r1 program)";
const LIMITS = {meanKL: 5e-3, top1Agree: 0.98};
const POSITIONS = 256;

function run(args) {
  return new Promise((resolve, reject) => {
    execFile(R1_BIN, args, {maxBuffer: 256 << 20, encoding: "utf8"}, (err, stdout, stderr) => {
      if (err) reject(new Error(`r1 ${args.join(" ")} failed (${err.code ?? err.signal}):\n${stderr}`));
      else resolve(stdout);
    });
  });
}

// A deterministic pseudo-random id sequence over the byte tokens (ids 0..255).
function sequence(seed) {
  const ids = [];
  let s = seed >>> 0;
  for (let i = 0; i < POSITIONS; ++i) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    ids.push(32 + (s >>> 24) % 95);
  }
  return ids;
}

const cases = [
  {arch: "qwen2", gen: ["--preset", "tiny", "--layers", "4"], types: ["q4_k_m", "q3_k_m", "iq4_xs"]},
  {arch: "llama", gen: ["--preset", "tiny"], types: ["q4_k_m"]},
  {arch: "deepseek2", gen: ["--preset", "tiny-v3"], types: ["q4_k_m"]},
];
const results = [];

for (const c of cases) {
  for (const type of c.types) {
    test(`r1 quantize ${c.arch} -> ${type}: llama.cpp loads it and agrees with r1`, {skip, timeout: 180_000}, async () => {
      const dir = path.join(TMP, `quantize-${c.arch}-${type}`);
      fs.mkdirSync(dir, {recursive: true});
      const f32 = path.join(dir, "f32.gguf"), q = path.join(dir, `${type}.gguf`);
      await run(["gen-model", "--arch", c.arch, ...c.gen, "--seed", "7", "-o", f32]);
      await run(["quantize", "-q", f32, q, type]);
      const ids = sequence(11);
      const {nVocab, logprobs: ref} = await L.teacherForced(q, ids);
      const idsFile = path.join(dir, "ids.json"), out = path.join(dir, "logits.bin");
      fs.writeFileSync(idsFile, JSON.stringify(ids));
      await run(["logits", "-m", q, "--ids", idsFile, "--out", out]);
      const ours = readLogitsBin(out, ids.length, nVocab).map(logSoftmax);
      const m = compareDistributions(ref, ours, {k: 10});
      results.push({arch: c.arch, type, meanKL: m.meanKL, maxKL: m.maxKL, top1Agree: m.top1Agree});
      assert.ok(m.meanKL <= LIMITS.meanKL, `mean KL ${m.meanKL} > ${LIMITS.meanKL}`);
      assert.ok(m.top1Agree >= LIMITS.top1Agree, `top-1 agreement ${m.top1Agree} < ${LIMITS.top1Agree}`);
      await L.unloadModel(q);
    });
  }
}

after(async () => {
  if (results.length) console.table(results);
  await L.shutdown();
});
