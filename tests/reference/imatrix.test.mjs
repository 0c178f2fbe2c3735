// `r1 imatrix` against llama.cpp's own llama-imatrix and llama-quantize (built by
// lib/llama_tools.mjs from the llama.cpp release node-llama-cpp 3.21.1 ships, linked to
// its binaries), on random-weight models from `r1 gen-model` and one calibration text:
//   - dense families (qwen2, llama, qwen3), llama-imatrix batching one chunk per batch
//     (-b = -ub = -c, as r1 runs): the two files are byte for byte the same;
//   - deepseek2 tiny-v3 (MLA per-head products, routed experts) with --process-output:
//     the same entries, shapes, metadata and token counts, sums within 1e-5 relative
//     (expert products in another float order);
//   - llama-imatrix's default batching (many chunks per batch): the same counts, sums
//     within 1e-3 relative (llama.cpp's own result moves that much with its batch size);
//   - continuing (--chunk N --in-file earlier.gguf) gives llama-imatrix's bytes;
//   - the files interchange: llama-quantize with r1's imatrix and r1 quantize with
//     llama's write identical tensors (Q4_K_M, IQ4_XS), deepseek2 included.
//
// Environment: R1_BIN (skipped without it), R1_TMP (scratch directory).
import {test} from "node:test";
import assert from "node:assert/strict";
import {execFile} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import {llamaTools} from "./lib/llama_tools.mjs";
import {readGguf} from "./lib/gguf_tensors.mjs";

const R1_BIN = process.env.R1_BIN;
const TMP = process.env.R1_TMP || path.join(os.tmpdir(), "r1-ref-imatrix");
const skip = R1_BIN ? false : "R1_BIN is not set (path to the built r1 program)";
const CTX = 128;

function exec(bin, args) {
  return new Promise((resolve, reject) => {
    execFile(bin, args, {maxBuffer: 64 << 20, encoding: "utf8"}, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(bin)} ${args.join(" ")} failed (${err.code ?? err.signal}):\n${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}
const r1 = (args) => exec(R1_BIN, args);

// A deterministic calibration text of words (~60 chunks of 128 byte-level tokens).
function calibration(file) {
  const words = ["the", "reasoning", "model", "thinks", "about", "a", "prime", "number", "and", "then",
                 "answers", "with", "proof", "seven", "eleven", "sum", "of", "squares", "is", "odd"];
  let s = 12345, out = [];
  for (let i = 0; i < 1500; ++i) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out.push(words[(s >>> 16) % words.length]);
  }
  fs.writeFileSync(file, out.join(" ") + "\n");
}

let setup = null;
function prepare() {
  if (!setup) {
    fs.mkdirSync(TMP, {recursive: true});
    const text = path.join(TMP, "calib.txt");
    calibration(text);
    setup = {tools: llamaTools(TMP), text};
  }
  return setup;
}

async function model(arch, preset, extra = []) {
  prepare();
  const f = path.join(TMP, `${arch}${extra.join("")}.gguf`);
  await r1(["gen-model", "--arch", arch, "--preset", preset, "--seed", "3", ...extra, "-o", f]);
  return f;
}

// Both tools on the same model and text; llama-imatrix batched like r1 unless `batch`.
async function bothImatrices(tag, m, {extra = [], batch = CTX, r1Extra = [], llamaExtra = []} = {}) {
  const {tools, text} = prepare();
  const ours = path.join(TMP, `${tag}.r1.imatrix.gguf`), theirs = path.join(TMP, `${tag}.llama.imatrix.gguf`);
  await r1(["imatrix", "-q", "-m", m, "-f", text, "-o", ours, "-c", String(CTX), ...extra, ...r1Extra]);
  await exec(tools.imatrix, ["-m", m, "-f", text, "-o", theirs, "-c", String(CTX), "-b", String(batch),
                             "-ub", String(Math.min(batch, 512)), "-t", "2", ...extra, ...llamaExtra]);
  return {ours, theirs};
}

function compareImatrices(ours, theirs, rel) {
  const a = readGguf(ours), b = readGguf(theirs);
  assert.deepEqual([...a.meta.entries()], [...b.meta.entries()], "metadata");
  assert.deepEqual([...a.tensors.keys()], [...b.tensors.keys()], "entry names and order");
  let worst = 0;
  for (const [name, tb] of b.tensors) {
    const ta = a.tensors.get(name);
    assert.deepEqual(ta.dims, tb.dims, `${name}: shape`);
    const x = new Float32Array(ta.bytes.buffer.slice(ta.bytes.byteOffset, ta.bytes.byteOffset + ta.bytes.length));
    const y = new Float32Array(tb.bytes.buffer.slice(tb.bytes.byteOffset, tb.bytes.byteOffset + tb.bytes.length));
    if (name.endsWith(".counts")) {
      assert.deepEqual([...x], [...y], `${name}: token counts`);
      continue;
    }
    for (let i = 0; i < y.length; ++i) {
      const d = Math.abs(x[i] - y[i]) / Math.max(Math.abs(y[i]), 1e-30);
      if (d > worst) worst = d;
      assert.ok(d <= rel, `${name}[${i}]: r1 ${x[i]} vs llama.cpp ${y[i]} (relative ${d} > ${rel})`);
    }
  }
  return worst;
}

function sameTensors(fileA, fileB) {
  const a = readGguf(fileA), b = readGguf(fileB);
  assert.deepEqual([...a.tensors.keys()].sort(), [...b.tensors.keys()].sort(), "tensor names");
  for (const [name, tb] of b.tensors) {
    const ta = a.tensors.get(name);
    assert.equal(ta.type, tb.type, `${name}: type`);
    assert.ok(ta.bytes.equals(tb.bytes), `${name}: bytes differ`);
  }
}

for (const arch of ["qwen2", "llama", "qwen3"]) {
  test(`${arch}: r1 imatrix writes llama-imatrix's file byte for byte`, {skip, timeout: 300_000}, async () => {
    const m = await model(arch, "tiny");
    const {ours, theirs} = await bothImatrices(arch, m);
    assert.ok(fs.readFileSync(ours).equals(fs.readFileSync(theirs)), `${ours} and ${theirs} differ`);
    assert.ok(readGguf(ours).tensors.size >= 14, "an entry per weight product");
  });
}

test("deepseek2 tiny-v3 (MLA heads, routed experts, --process-output): same entries and counts, sums within 1e-5",
     {skip, timeout: 300_000}, async () => {
  const m = await model("deepseek2", "tiny-v3");
  const {ours, theirs} = await bothImatrices("deepseek2", m, {extra: ["--process-output"]});
  const names = [...readGguf(ours).tensors.keys()];
  for (const stem of ["attn_k_b", "attn_v_b", "ffn_gate_exps", "ffn_down_exps", "ffn_gate_inp", "ffn_up_shexp"])
    assert.ok(names.some(n => n.includes(`.${stem}.`)), `an entry for ${stem}`);
  assert.ok(names.includes("output.weight.in_sum2"), "output.weight with --process-output");
  compareImatrices(ours, theirs, 1e-5);
});

test("qwen2 against llama-imatrix's default batching (2048-token batches): counts equal, sums within 1e-3",
     {skip, timeout: 300_000}, async () => {
  const m = await model("qwen2", "tiny");
  const {ours, theirs} = await bothImatrices("qwen2-batched", m, {batch: 2048});
  compareImatrices(ours, theirs, 1e-3);
});

test("continuing a run (--chunk N --in-file) gives llama-imatrix's bytes", {skip, timeout: 300_000}, async () => {
  const {text, tools} = prepare();
  const m = await model("qwen2", "tiny");
  const first = path.join(TMP, "first10.imatrix.gguf");
  await r1(["imatrix", "-q", "-m", m, "-f", text, "-o", first, "-c", String(CTX), "--chunks", "10"]);
  const ours = path.join(TMP, "cont.r1.imatrix.gguf"), theirs = path.join(TMP, "cont.llama.imatrix.gguf");
  await r1(["imatrix", "-q", "-m", m, "-f", text, "-o", ours, "-c", String(CTX), "--chunk", "10", "--in-file", first]);
  await exec(tools.imatrix, ["-m", m, "-f", text, "-o", theirs, "-c", String(CTX), "-b", String(CTX), "-ub",
                             String(CTX), "-t", "2", "--chunk", "10", "--in-file", first]);
  assert.ok(fs.readFileSync(ours).equals(fs.readFileSync(theirs)), "continued files differ");
  assert.deepEqual(readGguf(ours).meta.get("imatrix.datasets").length, 2);
});

for (const [arch, preset, type, llamaType, gen = []] of [["qwen2", "tiny", "q4_k_m", "Q4_K_M"], ["qwen2", "tiny", "iq4_xs", "IQ4_XS"],
                                               ["qwen2", "tiny", "iq2_xxs", "IQ2_XXS"], ["llama", "tiny", "iq2_xs", "IQ2_XS"],
                                               ["qwen2", "tiny", "iq2_s", "IQ2_S"], ["qwen2", "tiny", "iq3_xxs", "IQ3_XXS"],
                                               ["llama", "tiny", "iq3_s", "IQ3_S"], ["qwen2", "tiny", "iq1_s", "IQ1_S"],
                                               ["llama", "tiny", "iq1_m", "IQ1_M"],
                                               ["deepseek2", "tiny-v3", "q4_k_m", "Q4_K_M"],
                                               // without the multi-token-prediction layer, which the
                                               // calibration run never reaches (both tools refuse an
                                               // IQ2 weight without imatrix data)
                                               ["deepseek2", "tiny-v3", "iq2_xxs", "IQ2_XXS", ["--nextn", "0"]]]) {
  test(`${arch} ${type}: imatrix files interchange (llama-quantize reads r1's, r1 quantize reads llama's)`,
       {skip, timeout: 300_000}, async () => {
    const {tools} = prepare();
    const m = await model(arch, preset, gen);
    const {ours, theirs} = await bothImatrices(`${arch}-${type}-x`, m);
    for (const [im, who] of [[ours, "r1"], [theirs, "llama"]]) {
      const a = path.join(TMP, `${arch}.${type}.${who}-imatrix.r1.gguf`);
      const b = path.join(TMP, `${arch}.${type}.${who}-imatrix.llama.gguf`);
      await r1(["quantize", "-q", "--imatrix", im, m, a, type]);
      await exec(tools.quantize, ["--imatrix", im, m, b, llamaType, "2"]);
      sameTensors(a, b);
    }
  });
}
