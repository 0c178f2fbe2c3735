// End-to-end tests of `r1 quantize`: a working run (progress lines, summary, a loadable
// output), and the error contract for bad use: one "r1: ..." line on stderr, non-zero
// exit, and the output path left exactly as it was (absent, or the old file unchanged).
//
// Environment: R1_BIN (skipped without it), R1_TMP (scratch directory).
import {test, before} from "node:test";
import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {r1, fails, leftovers, R1_BIN, skip} from "./cli_util.mjs";

const TMP = path.join(process.env.R1_TMP || os.tmpdir(), "quantize");
const MODEL = path.join(TMP, "f32.gguf");

before(() => {
  if (skip) return;
  fs.rmSync(TMP, {recursive: true, force: true});
  fs.mkdirSync(TMP, {recursive: true});
  const r = r1(["gen-model", "-o", MODEL, "--arch", "qwen2", "--preset", "tiny", "--layers", "4"]);
  assert.equal(r.code, 0, r.stderr);
});

test("quantizes to Q4_K_M: per-tensor lines, summary, a file r1 reads", {skip}, () => {
  const out = path.join(TMP, "q4km.gguf");
  const r = r1(["quantize", MODEL, out, "Q4_K_M", "--threads", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\[\s*1\/\s*\d+\] \S+/);        // plain progress lines (stderr is not a TTY)
  assert.match(r.stderr, /blk\.3\.attn_v\.weight .* f32 -> q6_k/);  // the Q4_K_M bump
  assert.match(r.stderr, /wrote .* as q4_k_m: \d+ tensors .* bpw\) -> .* bpw\), [\d.]+ s/);
  const info = r1(["inspect", out, "--json"]);
  assert.equal(info.code, 0, info.stderr);
  const j = JSON.parse(info.stdout);
  assert.equal(JSON.stringify(j).includes("q4_k"), true);
});

test("unknown type: error names it, nothing written", {skip}, () => {
  const out = path.join(TMP, "bad-type.gguf");
  fails(["quantize", MODEL, out, "Q4_K_X"], /unknown quantization type 'Q4_K_X'/);
  assert.equal(fs.existsSync(out), false);
});

test("IQ2_XXS without an importance matrix: error like llama-quantize's", {skip}, () => {
  const out = path.join(TMP, "iq2.gguf");
  fails(["quantize", MODEL, out, "IQ2_XXS"], /needs an importance matrix.*--imatrix/);
  assert.equal(fs.existsSync(out), false);
});

test("bad input file: error names the file; an existing output is left unchanged", {skip}, () => {
  const bad = path.join(TMP, "not-a-model.gguf");
  fs.writeFileSync(bad, "this is not a gguf file at all, just text");
  const out = path.join(TMP, "keep.gguf");
  fs.writeFileSync(out, "old contents");
  fails(["quantize", bad, out, "Q8_0"], /not-a-model\.gguf/);
  assert.equal(fs.readFileSync(out, "utf8"), "old contents");
  assert.deepEqual(leftovers(TMP, "keep.gguf"), []);
  fails(["quantize", path.join(TMP, "missing.gguf"), out, "Q8_0"], /missing\.gguf/);
  assert.equal(fs.readFileSync(out, "utf8"), "old contents");
});

test("requantizing a quantized file is refused unless --allow-requantize", {skip}, () => {
  const q8 = path.join(TMP, "q8.gguf");
  assert.equal(r1(["quantize", "-q", MODEL, q8, "q8_0"]).code, 0);
  const out = path.join(TMP, "requant.gguf");
  fails(["quantize", q8, out, "q4_0"], /already quantized \(q8_0\).*--allow-requantize/);
  assert.equal(fs.existsSync(out), false);
  const r = r1(["quantize", "-q", "--allow-requantize", q8, out, "q4_0"]);
  assert.equal(r.code, 0, r.stderr);
});

test("bad imatrix file: clear error, output unchanged", {skip}, () => {
  const im = path.join(TMP, "bad.imatrix");
  fs.writeFileSync(im, Buffer.from([5, 0, 0, 0, 200, 0, 0, 0, 65]));  // 5 entries, name of 200 bytes: truncated
  const out = path.join(TMP, "keep2.gguf");
  fs.writeFileSync(out, "old");
  fails(["quantize", "--imatrix", im, MODEL, out, "q4_k_m"], /bad\.imatrix/);
  assert.equal(fs.readFileSync(out, "utf8"), "old");
});

test("same input and output, bad --tensor-type, bad --output-tensor-type", {skip}, () => {
  fails(["quantize", MODEL, MODEL, "q8_0"], /same file/);
  const out = path.join(TMP, "x.gguf");
  fails(["quantize", "--tensor-type", "attn_q", MODEL, out, "q8_0"], /PATTERN=TYPE/);
  fails(["quantize", "--output-tensor-type", "q9_9", MODEL, out, "q8_0"], /q9_9/);
  assert.equal(fs.existsSync(out), false);
});
