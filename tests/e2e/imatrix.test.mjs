// End-to-end tests of `r1 imatrix`: a run writes a GGUF imatrix that `r1 quantize` takes;
// combining files adds them up; bad use gets the error contract (cli_util.mjs) and leaves
// the output path as it was. That the numbers are llama-imatrix's is
// tests/reference/imatrix.test.mjs's job.
//
// Environment: R1_BIN (skipped without it), R1_TMP (scratch directory).
import {test, before} from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {ok, fails, leftovers, skip} from "./cli_util.mjs";

const TMP = path.join(process.env.R1_TMP || os.tmpdir(), "imatrix");
const MODEL = path.join(TMP, "m.gguf");
const TEXT = path.join(TMP, "calib.txt");

before(() => {
  if (skip) return;
  fs.mkdirSync(TMP, {recursive: true});
  ok(["gen-model", "--arch", "qwen2", "--seed", "5", "-o", MODEL]);
  const words = ["alpha", "beta", "gamma", "delta", "proof", "sum", "prime", "think"];
  fs.writeFileSync(TEXT, Array.from({length: 800}, (_, i) => words[(i * 7 + (i >> 3)) % words.length]).join(" "));
});

test("imatrix: progress, summary, a file r1 quantize uses", {skip}, () => {
  const out = path.join(TMP, "im.gguf");
  const r = ok(["imatrix", "-m", MODEL, "-f", TEXT, "-o", out, "-c", "64", "--chunks", "6"]);
  assert.match(r.stderr, /chunk 6\/6 \| PPL \d+\.\d+ \+\/- \d+\.\d+/);
  assert.match(r.stderr, /wrote .*im\.gguf: 14 entries, 6 chunks of 64 tokens, final PPL/);
  assert.equal(r.stdout, "");
  assert.deepEqual(leftovers(TMP, "im.gguf"), []);
  const q = ok(["quantize", "-q", "--imatrix", out, MODEL, path.join(TMP, "q.gguf"), "iq4_xs"]);
  assert.match(q.stderr, /importance matrix: 14 entries from/);
});

test("imatrix --in-file: combining two runs adds chunks and datasets", {skip}, () => {
  const a = path.join(TMP, "a.gguf"), b = path.join(TMP, "b.gguf"), ab = path.join(TMP, "ab.gguf");
  ok(["imatrix", "-q", "-m", MODEL, "-f", TEXT, "-o", a, "-c", "64", "--chunks", "2", "--no-ppl"]);
  ok(["imatrix", "-q", "-m", MODEL, "-f", TEXT, "-o", b, "-c", "64", "--chunk", "2", "--chunks", "3", "--no-ppl"]);
  const r = ok(["imatrix", "--in-file", a, "--in-file", b, "-o", ab]);
  assert.match(r.stderr, /wrote .*ab\.gguf: 14 entries combined from 2 files, 5 chunks/);
  const j = JSON.parse(ok(["inspect", "--json", ab]).stdout);
  const meta = JSON.stringify(j);
  assert.match(meta, /imatrix\.chunk_count/);
});

test("imatrix: errors name the problem and leave the output as it was", {skip}, () => {
  const out = path.join(TMP, "keep.gguf");
  fs.writeFileSync(out, "old contents");
  const short = path.join(TMP, "short.txt");
  fs.writeFileSync(short, "too short");
  fails(["imatrix", "-m", MODEL, "-f", short, "-o", out], /has \d+ tokens; a chunk size of 512 needs at least 1024/);
  fails(["imatrix", "-m", MODEL, "-f", path.join(TMP, "absent.txt"), "-o", out], /cannot read the calibration text/);
  fails(["imatrix", "-m", MODEL, "-o", out], /-m given without -f/);
  fails(["imatrix", "-o", out], /nothing to do/);
  fails(["imatrix", "-m", MODEL, "-f", TEXT, "-o", out, "-c", "8"], /chunk size must be at least 16/);
  fails(["imatrix", "-m", MODEL, "-f", TEXT, "-o", out, "-c", "64", "--chunk", "100"], /not enough left after skipping 100/);
  fails(["imatrix", "--in-file", MODEL, "-o", out], /missing imatrix metadata key/);
  // an imatrix of a model with other shapes cannot be continued on this one
  const other = path.join(TMP, "other.gguf"), otherIm = path.join(TMP, "other.im.gguf");
  ok(["gen-model", "--arch", "qwen2", "--embd", "128", "--heads", "4", "--heads-kv", "2", "-o", other]);
  ok(["imatrix", "-q", "-m", other, "-f", TEXT, "-o", otherIm, "-c", "64", "--chunks", "2", "--no-ppl"]);
  fails(["imatrix", "-m", MODEL, "-f", TEXT, "-o", out, "-c", "64", "--in-file", otherIm], /another model's imatrix/);
  assert.equal(fs.readFileSync(out, "utf8"), "old contents");
  assert.deepEqual(leftovers(TMP, "keep.gguf"), []);
});
