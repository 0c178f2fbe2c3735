// End-to-end tests of the `r1` command line: run (streamed and --json), chat,
// inspect, logits, and the error contract ("r1: message" on stderr, non-zero exit).
//
// Environment: R1_BIN (the built r1 program; skipped without it), R1_TMP (scratch
// directory), R1_SOURCE_DIR (the source tree). The model is a tiny random-weight
// qwen2 written by `r1 gen-model` with the built-in byte-level vocabulary (ids
// 0..255 are the byte values; R1 special tokens follow).
//
// Expected values are computed here independently of r1: parameter counts and
// KV sizes from the shapes, the unsupported-architecture file is written by the
// small GGUF writer below, special-token ids are looked up in the vocabulary the
// JSON inspect output lists.
import {test, before} from "node:test";
import assert from "node:assert/strict";
import {spawn, spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {r1, ok, fails, R1_BIN, skip} from "./cli_util.mjs";

const TMP = process.env.R1_TMP || path.join(os.tmpdir(), "r1-e2e-cli");
const MODEL = path.join(TMP, "t.gguf");

function runJson(args, opts) {
  const r = ok(["run", "-m", MODEL, "--json", ...args], opts);
  let j;
  try {
    j = JSON.parse(r.stdout);  // the whole of stdout is one JSON object
  } catch (e) {
    assert.fail(`stdout is not one JSON object (${e.message}):\n${r.stdout.slice(0, 400)}`);
  }
  return {j, stderr: r.stderr};
}

let vocab;  // token strings (byte-level encoded), from `r1 inspect --json`
let meta;   // inspect --json output
const idOf = (text) => vocab.indexOf(text);

before(() => {
  if (skip) return;
  fs.mkdirSync(TMP, {recursive: true});
  ok(["gen-model", "--arch", "qwen2", "--preset", "tiny", "--seed", "1", "-o", MODEL]);
  meta = JSON.parse(ok(["inspect", MODEL, "--json"]).stdout);
  // The vocabulary itself is abbreviated in inspect; rebuild the special part from
  // the known layout of the built-in vocabulary: 256 bytes, merges, then specials.
  const count = meta.metadata["tokenizer.ggml.tokens"].count;
  vocab = new Array(count).fill(null);
  const bos = meta.metadata["tokenizer.ggml.bos_token_id"];
  ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"]
      .forEach((t, i) => { vocab[bos + i] = t; });
});

// ---------------------------------------------------------------- r1 run --json

test("run --json: one object with the documented fields", {skip}, () => {
  const {j} = runJson(["-p", "Hello there", "-n", "12", "--temp", "0"]);
  for (const k of ["prompt_tokens", "tokens", "text", "reasoning", "content", "finish_reason", "timings"])
    assert.ok(k in j, `missing ${k}`);
  for (const k of ["prompt_n", "prompt_ms", "prompt_per_second", "predicted_n", "predicted_ms", "predicted_per_second"])
    assert.equal(typeof j.timings[k], "number", `timings.${k}`);
  assert.ok(j.tokens.length <= 12);
  assert.equal(j.timings.predicted_n, j.tokens.length);
  assert.equal(j.timings.prompt_n, j.prompt_tokens.length);
  assert.ok(["stop", "length"].includes(j.finish_reason));
  if (j.tokens.length === 12) assert.equal(j.finish_reason, "length");
  // The chat prompt is the built-in R1 format: <bos><｜User｜>Hello there<｜Assistant｜><think>\n
  const p = j.prompt_tokens;
  assert.equal(p[0], idOf("<｜begin▁of▁sentence｜>"));
  assert.equal(p[1], idOf("<｜User｜>"));
  assert.deepEqual(p.slice(-3), [idOf("<｜Assistant｜>"), idOf("<think>"), 10]);
  assert.equal(p.filter((t) => t === p[0]).length, 1, "exactly one BOS");
  // The prompt ends inside <think>: what comes out is reasoning until a </think>.
  if (!j.tokens.includes(idOf("</think>"))) assert.equal(j.content, "");
});

test("run --json: greedy is deterministic, seeds reproduce, temperature varies", {skip}, () => {
  const a = runJson(["-p", "Tell me", "-n", "16", "--temp", "0"]).j;
  const b = runJson(["-p", "Tell me", "-n", "16", "--temp", "0", "-t", "1"]).j;
  assert.deepEqual(a.tokens, b.tokens);
  const s1 = runJson(["-p", "Tell me", "-n", "16", "--temp", "1.5", "--seed", "7"]).j;
  const s2 = runJson(["-p", "Tell me", "-n", "16", "--temp", "1.5", "--seed", "7"]).j;
  assert.deepEqual(s1.tokens, s2.tokens);
  const others = [8, 9, 10].map((s) => runJson(["-p", "Tell me", "-n", "16", "--temp", "1.5", "--seed", String(s)]).j);
  assert.ok(others.some((o) => JSON.stringify(o.tokens) !== JSON.stringify(s1.tokens)), "seeds change the sample");
});

test("run: --allow-paging (computing from the memory map) and R1_MODEL give the same greedy tokens", {skip}, () => {
  const a = runJson(["-p", "Tell me", "-n", "16", "--temp", "0"]).j;
  const paged = runJson(["-p", "Tell me", "-n", "16", "--temp", "0", "--allow-paging"]).j;
  assert.deepEqual(paged.tokens, a.tokens);
  const r = ok(["run", "--json", "-p", "Tell me", "-n", "16", "--temp", "0"], {env: {R1_MODEL: MODEL}});
  assert.deepEqual(JSON.parse(r.stdout).tokens, a.tokens);
  fails(["run", "-p", "x"], /missing\.gguf/, {env: {R1_MODEL: path.join(TMP, "missing.gguf")}});
});

test("run --raw: the prompt is used as-is, BOS added once", {skip}, () => {
  const {j} = runJson(["--raw", "-p", "ab", "-n", "1", "--temp", "0"]);
  assert.equal(j.prompt_tokens[0], idOf("<｜begin▁of▁sentence｜>"));
  // "a" and "b" are byte tokens 97 and 98 unless merged (no "ab" merge changes the text).
  assert.equal(j.prompt_tokens.length <= 3, true);
  const withBos = runJson(["--raw", "-p", "<｜begin▁of▁sentence｜>ab", "-n", "1", "--temp", "0"]).j;
  assert.deepEqual(withBos.prompt_tokens, j.prompt_tokens, "no second BOS when the text starts with it");
  const special = runJson(["--raw", "-p", "x<think>", "-n", "1", "--temp", "0"]).j;
  assert.equal(special.prompt_tokens.at(-1), idOf("<think>"), "special tokens are parsed");
});

test("run --no-think: the reasoning block is closed in the prompt", {skip}, () => {
  const {j} = runJson(["-p", "Hi", "-n", "8", "--temp", "0", "--no-think"]);
  const p = j.prompt_tokens;
  const closeAt = p.lastIndexOf(idOf("</think>"));
  assert.ok(closeAt > p.lastIndexOf(idOf("<think>")), "</think> after <think> in the prompt");
  assert.equal(j.reasoning, "");
  assert.equal(j.reasoning_tokens, 0);
});

test("run --think-budget: reasoning is closed after N tokens", {skip}, () => {
  const {j} = runJson(["-p", "Hi", "-n", "20", "--temp", "0", "--think-budget", "3"]);
  const close = idOf("</think>");
  const at = j.tokens.indexOf(close);
  assert.ok(at >= 0 && at <= 4, `</think> forced within the first 5 tokens, got index ${at} in ${j.tokens}`);
  if (at === 4) assert.equal(j.tokens[3], 10, "the forced close starts with a newline");
  assert.ok(j.text.includes("</think>"));
  assert.ok(!j.reasoning.includes("</think>") && !j.content.includes("</think>"));
  assert.ok(j.reasoning_tokens <= 5);
});

test("run: streams reasoning and answer, markers and summary on stderr", {skip}, () => {
  const r = ok(["run", "-m", MODEL, "-p", "Hi", "-n", "10", "--temp", "0", "--think-budget", "4"]);
  const json = runJson(["-p", "Hi", "-n", "10", "--temp", "0", "--think-budget", "4"]).j;
  assert.ok(!r.stdout.includes("\x1b["), "no ANSI escapes when stdout is not a terminal");
  assert.match(r.stderr, /^Thinking\.\.\.$/m);
  assert.match(r.stderr, /^\.\.\.done thinking\.$/m);
  assert.match(r.stderr, /reasoning \d+ tokens, answer \d+ tokens \| prefill [\d.]+ tok\/s \| decode [\d.]+ tok\/s/);
  // stdout: the reasoning, a blank line, the answer (the same text as --json).
  const line = (s) => (s.endsWith("\n") ? s : `${s}\n`);
  let expected = json.reasoning ? line(json.reasoning) : "";
  if (json.content) expected += (json.reasoning ? "\n" : "") + line(json.content);
  assert.equal(r.stdout, expected);
});

test("run: prompt from a file and from stdin", {skip}, () => {
  const file = path.join(TMP, "prompt.txt");
  fs.writeFileSync(file, "Hello there");
  const a = runJson(["-f", file, "-n", "4", "--temp", "0"]).j;
  const b = runJson(["-p", "Hello there", "-n", "4", "--temp", "0"]).j;
  const c = runJson(["-n", "4", "--temp", "0"], {input: "Hello there"}).j;
  assert.deepEqual(a.prompt_tokens, b.prompt_tokens);
  assert.deepEqual(c.prompt_tokens, b.prompt_tokens);
  assert.deepEqual(a.tokens, b.tokens);
});

test("run --trace: one JSONL line matching the result", {skip}, () => {
  const trace = path.join(TMP, "trace.jsonl");
  fs.rmSync(trace, {force: true});
  const {j} = runJson(["-p", "Hi", "-n", "6", "--temp", "0", "--trace", trace]);
  ok(["run", "-m", MODEL, "-p", "Hi", "-n", "6", "--temp", "0", "--trace", trace]);
  const lines = fs.readFileSync(trace, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  for (const t of lines) {
    assert.equal(t.reasoning, j.reasoning);
    assert.equal(t.content, j.content);
    assert.equal(t.finish_reason, j.finish_reason);
    assert.deepEqual(t.prompt, [{role: "user", content: "Hi"}]);
  }
});

test("run: Ctrl-C ends the generation and still reports", {skip}, async () => {
  // A context far longer than the generation can fill in the wait below.
  const child = spawn(R1_BIN, ["run", "-m", MODEL, "-p", "Hi", "--temp", "1", "--json", "-t", "1", "-c", "65536", "--ignore-eos"],
                      {stdio: ["ignore", "pipe", "pipe"]});
  let out = "", err = "";
  child.stdout.on("data", (d) => { out += d; });
  child.stderr.on("data", (d) => { err += d; });
  const closed = new Promise((r) => child.on("close", (c) => r(c)));
  await new Promise((r) => setTimeout(r, 1000));
  child.kill("SIGINT");
  const code = await closed;
  assert.equal(code, 0, err);
  const j = JSON.parse(out);
  assert.equal(j.finish_reason, "cancelled");
  assert.ok(j.tokens.length > 0 && j.tokens.length < 65536);
});

// ------------------------------------------------------------------- errors

test("errors: one 'r1:' line and a non-zero exit", {skip}, () => {
  fails(["run", "-m", path.join(TMP, "missing.gguf"), "-p", "x"], /missing\.gguf/);
  const trunc = path.join(TMP, "truncated.gguf");
  fs.writeFileSync(trunc, fs.readFileSync(MODEL).subarray(0, 3000));
  fails(["run", "-m", trunc, "-p", "x"], /truncated\.gguf/);
  fails(["inspect", trunc], /truncated\.gguf/);
  fails(["inspect", path.join(TMP, "missing.gguf")]);
  const notGguf = path.join(TMP, "not.gguf");
  fs.writeFileSync(notGguf, "hello, this is not a model file at all".repeat(10));
  fails(["inspect", notGguf]);
  fails(["run", "-m", MODEL, "-c", "16", "-p", "this prompt is much longer than sixteen tokens, surely"],
        /prompt has \d+ tokens but the context is 16/);
  fails(["run", "-m", MODEL, "-p", "x", "--top-p", "2"], /--top-p/);
  fails(["run", "-m", MODEL, "-p", "x", "--temp", "-1"], /--temp/);
  fails(["run", "-m", MODEL, "-p", "x", "-f", "y"], /either/);
  fails(["run", "-m", MODEL, "-f", path.join(TMP, "no-such-prompt.txt")], /prompt file/);
  fails(["run", "-m", MODEL, "--raw", "--system", "s", "-p", "x"], /--system/);
  fails(["run", "-m", MODEL, "--no-think", "--think-budget", "3", "-p", "x"], /together/);
  fails(["run", "-m", MODEL, "-p", "x", "--trace", path.join(TMP, "no-such-dir", "t.jsonl")]);
});

// ------------------------------------------------------------------- inspect

test("inspect --json: sizes computed from the tensor table and metadata", {skip}, () => {
  const j = meta;
  let params = 0, bytes = 0;
  for (const t of j.tensors) {
    params += t.shape.reduce((a, b) => a * b, 1);
    bytes += t.bytes;
    if (t.type === "f32") assert.equal(t.bytes, 4 * t.shape.reduce((a, b) => a * b, 1), t.name);
  }
  assert.equal(j.n_params, params);
  assert.equal(j.weight_bytes, bytes);
  assert.equal(j.architecture, "qwen2");
  assert.equal(j.runnable, true);
  const m = j.metadata;
  const headDim = m["qwen2.embedding_length"] / m["qwen2.attention.head_count"];
  const kvTok = m["qwen2.block_count"] * m["qwen2.attention.head_count_kv"] * headDim * 2 /*K,V*/ * 2 /*f16*/;
  assert.equal(j.kv_bytes_per_token, kvTok);
  assert.equal(j.n_ctx, m["qwen2.context_length"]);
  assert.equal(j.kv_bytes, kvTok * j.n_ctx);
  assert.equal(j.memory_bytes, bytes + kvTok * j.n_ctx);
  // Long arrays are abbreviated: type, count and the first items.
  const toks = m["tokenizer.ggml.tokens"];
  assert.equal(toks.type, "array[string]");
  assert.ok(toks.count > 256 && toks.head.length < toks.count);
  assert.equal(toks.head[0], "Ā");  // byte 0 in the GPT-2 byte-level alphabet
  const embd = j.tensors.find((t) => t.name === "token_embd.weight");
  assert.equal(embd.shape[1], toks.count);
  const c = JSON.parse(ok(["inspect", MODEL, "--json", "-c", "100"]).stdout);
  assert.equal(c.kv_bytes, kvTok * 100);
});

test("inspect: text output", {skip}, () => {
  const out = ok(["inspect", MODEL, "-c", "1024"]).stdout;
  assert.match(out, /^architecture: qwen2 \(runnable: yes\)$/m);
  assert.match(out, /general\.architecture\s+string\s+"qwen2"/);
  assert.match(out, /tokenizer\.ggml\.tokens\s+array\s+\[string x \d+\] \["Ā", "ā", .*, \.\.\.\]/);
  assert.match(out, /^\s+token_embd\.weight\s+f32\s+\[256, \d+\]\s+\d+$/m);
  assert.match(out, new RegExp(`^parameters: .*\\(${meta.n_params}\\)$`, "m"));
  assert.match(out, new RegExp(`^weights: .*\\(${meta.weight_bytes} bytes\\)$`, "m"));
  assert.match(out, /^kv cache \(f16\): .* for a context of 1024$/m);
  assert.match(out, /^memory needed: /m);
});

// A minimal GGUF v3 writer (metadata of u32 / f32 / string, f32 tensors), to make
// files r1 cannot run but must still inspect.
function writeGguf(file, kv, tensors) {
  const parts = [];
  const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
  const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
  const str = (s) => { const b = Buffer.from(s, "utf8"); return Buffer.concat([u64(b.length), b]); };
  parts.push(Buffer.from("GGUF"), u32(3), u64(tensors.length), u64(Object.keys(kv).length));
  for (const [k, v] of Object.entries(kv)) {
    parts.push(str(k));
    if (typeof v === "string") parts.push(u32(8), str(v));
    else if (Number.isInteger(v)) parts.push(u32(4), u32(v));
    else { const b = Buffer.alloc(4); b.writeFloatLE(v); parts.push(u32(6), b); }
  }
  let offset = 0;
  for (const t of tensors) {
    parts.push(str(t.name), u32(t.shape.length), ...t.shape.map(u64), u32(0 /*f32*/), u64(offset));
    offset += Math.ceil((4 * t.shape.reduce((a, b) => a * b, 1)) / 32) * 32;
  }
  let head = Buffer.concat(parts);
  head = Buffer.concat([head, Buffer.alloc((32 - (head.length % 32)) % 32)]);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.alloc(offset)]));
}

test("inspect: an architecture r1 cannot run (DeepSeek-V2/V3 MLA metadata)", {skip}, () => {
  const file = path.join(TMP, "ds2.gguf");
  writeGguf(file, {
    "general.architecture": "deepseek2",
    "deepseek2.context_length": 4096,
    "deepseek2.block_count": 3,
    "deepseek2.embedding_length": 64,
    "deepseek2.attention.head_count": 4,
    "deepseek2.attention.head_count_kv": 1,
    "deepseek2.attention.key_length": 576,       // kv_lora_rank 512 + rope 64: the compressed latent
    "deepseek2.attention.value_length": 512,
    "deepseek2.attention.key_length_mla": 192,
    "deepseek2.attention.value_length_mla": 128,
    "deepseek2.attention.kv_lora_rank": 512,
    "deepseek2.rope.dimension_count": 64,
  }, [{name: "token_embd.weight", shape: [64, 10]}, {name: "output_norm.weight", shape: [64]}]);
  const j = JSON.parse(ok(["inspect", file, "--json", "-c", "10"]).stdout);
  assert.equal(j.architecture, "deepseek2");
  assert.equal(j.runnable, false);
  assert.match(j.not_runnable_reason, /deepseek2/);
  assert.equal(j.n_params, 64 * 10 + 64);
  assert.equal(j.weight_bytes, 4 * (64 * 10 + 64));
  assert.equal(j.kv_bytes_per_token, 3 * 576 * 2);  // K only (V is a view of the latent), f16
  assert.equal(j.kv_bytes, 3 * 576 * 2 * 10);
  const text = ok(["inspect", file]).stdout;
  assert.match(text, /^architecture: deepseek2 \(runnable: no: .*\)$/m);
  fails(["run", "-m", file, "-p", "x"], /deepseek2/);
});

// A GGUF reader of its own (header, metadata, tensor table), so that the group figures
// of `r1 inspect` are checked against the file rather than against inspect's own tensor
// list. Tensor bytes come from the ggml block sizes and are checked against the offsets.
const GGML_BLOCKS = {  // type id: [name, elements per block, bytes per block]
  0: ["f32", 1, 4], 1: ["f16", 1, 2], 2: ["q4_0", 32, 18], 6: ["q5_0", 32, 22], 8: ["q8_0", 32, 34],
  12: ["q4_k", 256, 144], 13: ["q5_k", 256, 176], 14: ["q6_k", 256, 210], 16: ["iq2_xxs", 256, 66],
  19: ["iq1_s", 256, 50], 20: ["iq4_nl", 32, 18], 23: ["iq4_xs", 256, 136], 30: ["bf16", 1, 2],
};

function readGguf(file) {
  const b = fs.readFileSync(file);
  let p = 0;
  const u32 = () => { const v = b.readUInt32LE(p); p += 4; return v; };
  const u64 = () => { const v = Number(b.readBigUInt64LE(p)); p += 8; return v; };
  const str = () => { const n = u64(); const s = b.toString("utf8", p, p + n); p += n; return s; };
  const scalarSize = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8};
  const value = (type) => {
    if (type === 8) return str();
    if (type === 9) {
      const et = u32(), n = u64(), out = [];
      for (let i = 0; i < n; ++i) out.push(value(et));
      return out;
    }
    const at = p;
    p += scalarSize[type];
    if (type === 4) return b.readUInt32LE(at);
    if (type === 5) return b.readInt32LE(at);
    if (type === 6) return b.readFloatLE(at);
    if (type === 7) return b[at] !== 0;
    if (type === 10 || type === 11) return Number(b.readBigUInt64LE(at));
    return null;
  };
  assert.equal(b.toString("latin1", 0, 4), "GGUF");
  p = 4;
  u32();  // version
  const nTensors = u64(), nKv = u64();
  const kv = {};
  for (let i = 0; i < nKv; ++i) { const k = str(); kv[k] = value(u32()); }
  const tensors = [];
  for (let i = 0; i < nTensors; ++i) {
    const name = str(), nd = u32(), shape = [];
    for (let d = 0; d < nd; ++d) shape.push(u64());
    const typeId = u32(), offset = u64();
    const [type, blk, bytesPerBlock] = GGML_BLOCKS[typeId] ?? assert.fail(`type ${typeId} of ${name}`);
    const elements = shape.reduce((x, y) => x * y, 1);
    assert.equal(shape[0] % blk, 0, name);
    tensors.push({name, shape, type, elements, offset, bytes: (elements / blk) * bytesPerBlock});
  }
  const align = kv["general.alignment"] ?? 32;
  const dataStart = Math.ceil(p / align) * align;
  // The computed sizes fit the gaps between the offsets (the data ends with the file).
  const byOffset = [...tensors].sort((x, y) => x.offset - y.offset);
  byOffset.forEach((t, i) => {
    const end = i + 1 < byOffset.length ? byOffset[i + 1].offset : b.length - dataStart;
    assert.ok(t.offset + t.bytes <= end && end - (t.offset + t.bytes) < align, `${t.name}: ${t.bytes} bytes`);
  });
  return {kv, tensors};
}

// The groups, by name (the registry's kinds, spelled out here independently).
function groupOf(name) {
  if (/_exps\.weight$/.test(name)) return "routed_experts";
  if (/_shexp\.weight$/.test(name)) return "shared_experts";
  if (/^blk\.\d+\.attn_(q|k|v|output|q_a|q_b|kv_a_mqa|k_b|v_b|kv_b)\.(weight|bias)$/.test(name)) return "attention";
  if (/^blk\.\d+\.ffn_(gate|up|down)\.weight$/.test(name)) return "dense_ffn";
  if (/^(token_embd|output)\.weight$|\.nextn\.(embed_tokens|shared_head_head)\.weight$/.test(name)) return "embedding_output";
  return "other";
}

// Checks inspect --json's tensor_groups, bits per weight, memory plan and kv_cache_at
// against the file read above. `trunk`: the layers r1 runs (the rest is not read).
function checkGroups(file, j, trunk) {
  const {tensors} = readGguf(file);
  const want = {};
  let bytes = 0, elements = 0;
  for (const t of tensors) {
    const g = (want[groupOf(t.name)] ??= {tensors: 0, n_elements: 0, bytes: 0, types: {}});
    g.tensors += 1;
    g.n_elements += t.elements;
    g.bytes += t.bytes;
    const ty = (g.types[t.type] ??= {n_elements: 0, bytes: 0});
    ty.n_elements += t.elements;
    ty.bytes += t.bytes;
    bytes += t.bytes;
    elements += t.elements;
  }
  assert.equal(j.weight_bytes, bytes);
  assert.equal(j.n_params, elements);
  assert.ok(Math.abs(j.bits_per_weight - (8 * bytes) / elements) < 1e-12);
  assert.deepEqual(Object.keys(j.tensor_groups).sort(), Object.keys(want).sort());
  for (const [name, w] of Object.entries(want)) {
    const g = j.tensor_groups[name];
    assert.equal(g.tensors, w.tensors, name);
    assert.equal(g.n_elements, w.n_elements, name);
    assert.equal(g.bytes, w.bytes, name);
    assert.ok(Math.abs(g.bits_per_weight - (8 * w.bytes) / w.n_elements) < 1e-12, name);
    assert.deepEqual(g.types.map((t) => t.type).sort(), Object.keys(w.types).sort(), name);
    for (const t of g.types) {
      assert.equal(t.n_elements, w.types[t.type].n_elements, `${name} ${t.type}`);
      assert.equal(t.bytes, w.types[t.type].bytes, `${name} ${t.type}`);
      assert.ok(Math.abs(t.share - t.n_elements / w.n_elements) < 1e-12);
    }
    for (let i = 1; i < g.types.length; ++i) assert.ok(g.types[i - 1].n_elements >= g.types[i].n_elements);
  }
  // The memory plan: matrices of the run layers copied, the embedding and vectors from
  // the map, the rest never read.
  const layer = (n) => { const m = /^blk\.(\d+)\./.exec(n); return m ? Number(m[1]) : -1; };
  let resident = 0, mapped = 0, unread = 0;
  for (const t of tensors) {
    if (layer(t.name) >= trunk) unread += t.bytes;
    else if (t.shape.length === 1 || t.name === "token_embd.weight") mapped += t.bytes;
    else resident += t.bytes;
  }
  const m = j.memory_plan;
  assert.equal(m.resident_bytes, resident);
  assert.equal(m.mapped_bytes, mapped);
  assert.equal(m.unread_bytes, unread);
  assert.equal(m.derived_bytes, 0);
  assert.equal(m.load_only_bytes, 0);
  assert.equal(m.loaded_bytes, resident + mapped);
  assert.ok(m.packed_bytes <= resident);
  assert.ok(j.kv_cache_at.length > 0);
  for (const c of j.kv_cache_at) {
    assert.equal(c.kv_bytes, c.n_ctx * j.kv_bytes_per_token);
    assert.equal(c.memory_bytes, m.loaded_bytes + c.kv_bytes);
  }
  assert.ok(j.kv_cache_at.some((c) => c.n_ctx === j.n_ctx));
  return want;
}

test("inspect: bits per weight per tensor group of a mixed-quant deepseek2 file (IQ1_S experts)", {skip}, () => {
  const file = path.join(TMP, "mixed.gguf");
  ok(["gen-model", "--arch", "deepseek2", "--preset", "tiny-v3", "--dtype", "q4_k_m", "--seed", "3",
      "--tensor-type", "ffn_.*_exps=iq1_s", "--tensor-type", "output=q6_k", "-o", file]);
  const j = JSON.parse(ok(["inspect", "-m", file, "--json", "-c", "2048"]).stdout);
  const md = j.metadata;
  const trunk = md["deepseek2.block_count"] - md["deepseek2.nextn_predict_layers"];
  const want = checkGroups(file, j, trunk);
  // The overrides: every routed expert tensor IQ1_S (50 bytes per 256), the output Q6_K.
  const routed = j.tensor_groups.routed_experts;
  assert.deepEqual(routed.types.map((t) => [t.type, t.share]), [["iq1_s", 1]]);
  assert.equal(routed.bits_per_weight, (8 * 50) / 256);
  assert.equal(routed.tensors, 3 * (md["deepseek2.block_count"] - md["deepseek2.leading_dense_block_count"]));
  assert.ok(j.tensor_groups.embedding_output.types.some((t) => t.type === "q6_k"));
  for (const g of ["shared_experts", "attention", "dense_ffn", "embedding_output", "other"]) assert.ok(want[g], g);
  assert.ok(j.bits_per_weight > routed.bits_per_weight && j.bits_per_weight < j.tensor_groups.attention.bits_per_weight);
  assert.ok(j.memory_plan.unread_bytes > 0);  // the MTP layer
  assert.deepEqual(j.kv_cache_at.map((c) => c.n_ctx), [md["deepseek2.context_length"], 2048].sort((a, b) => a - b));
  // Text: one row per group, the plan, the cache at those contexts.
  const text = ok(["inspect", file, "-c", "2048"]).stdout;
  assert.match(text, new RegExp(`^  routed experts +${routed.tensors} .* 1\\.56  iq1_s 100%$`, "m"));
  assert.match(text, new RegExp(`^  all +${j.tensors.length} .* ${j.bits_per_weight.toFixed(2)}$`, "m"));
  assert.match(text, /^  shared experts +\d+ .* \d+\.\d\d  (q4_k|q6_k) \d+\.\d%, (q4_k|q6_k) \d+\.\d%$/m);
  assert.match(text, /^memory plan \(weights as r1 run/m);
  assert.match(text, /^  in the file, never read \(MTP layers, unused tensors\): +\S+ \S+$/m);
  assert.match(text, /^  mode: (resident|refused)/m);
  assert.match(text, /^ +2048 +\S+ \S+ +\S+ \S+$/m);
  assert.equal(r1(["inspect", file], {env: {R1_MMAP_WEIGHTS: "1"}}).stdout.match(/^  mode: paged/m)?.length, 1);
  fails(["inspect"], /required/);
  fails(["inspect", file, "-m", file], /not both/);
});

test("inspect: groups and memory plan of a dense IQ4_XS file and of a legacy-MLA file", {skip}, () => {
  const dense = path.join(TMP, "dense-iq4_xs.gguf");
  ok(["gen-model", "--arch", "qwen2", "--preset", "tiny", "--dtype", "iq4_xs", "--seed", "3", "-o", dense]);
  const j = JSON.parse(ok(["inspect", dense, "--json"]).stdout);
  const want = checkGroups(dense, j, Infinity);
  assert.equal(want.routed_experts, undefined);
  assert.deepEqual(j.tensor_groups.dense_ffn.types.map((t) => t.type), ["iq4_xs"]);
  assert.equal(j.tensor_groups.dense_ffn.bits_per_weight, (8 * 136) / 256);
  assert.match(ok(["inspect", dense]).stdout, /^  dense ffn +\d+ .* 4\.25  iq4_xs 100%$/m);

  // Legacy MLA: attn_k_b computed at load (f16 from a quantized attn_kv_b), attn_kv_b's V
  // rows copied and its K rows read once.
  const legacy = path.join(TMP, "legacy-mla.gguf");
  ok(["gen-model", "--arch", "deepseek2", "--preset", "tiny-v3", "--dtype", "q8_0", "--legacy-mla", "-o", legacy]);
  const l = JSON.parse(ok(["inspect", legacy, "--json"]).stdout);
  const md = l.metadata, mp = l.memory_plan;
  const trunk = md["deepseek2.block_count"] - md["deepseek2.nextn_predict_layers"];
  const rope = md["deepseek2.rope.dimension_count"], H = md["deepseek2.attention.head_count"];
  const nope = md["deepseek2.attention.key_length"] - rope, vh = md["deepseek2.attention.value_length"];
  const R = md["deepseek2.attention.kv_lora_rank"];
  assert.equal(mp.derived_bytes, trunk * H * R * nope * 2);
  const {tensors} = readGguf(legacy);
  const kvb = tensors.filter((t) => /^blk\.\d+\.attn_kv_b\.weight$/.test(t.name) && Number(t.name.split(".")[1]) < trunk);
  assert.equal(kvb.length, trunk);
  assert.equal(mp.load_only_bytes, kvb.reduce((s, t) => s + (t.bytes * nope) / (nope + vh), 0));
  assert.equal(mp.resident_bytes + mp.mapped_bytes + mp.load_only_bytes + mp.unread_bytes, l.weight_bytes);
  assert.equal(mp.loaded_bytes, mp.resident_bytes + mp.mapped_bytes + mp.derived_bytes);
  const text = ok(["inspect", legacy]).stdout;
  assert.match(text, /^  computed at load \(legacy MLA attn_k_b\.weight\): +\S+ KiB$/m);
  assert.match(text, /^  read once at load \(attn_kv_b\.weight K rows\): +\S+ KiB$/m);
});

// -------------------------------------------------------------------- logits

test("logits: raw float32 [n][n_vocab], consistent with greedy run", {skip}, () => {
  const nVocab = meta.tensors.find((t) => t.name === "token_embd.weight").shape[1];
  const {j} = runJson(["--raw", "-p", "Hello world, again", "-n", "3", "--temp", "0"]);
  const ids = j.prompt_tokens;
  const idsFile = path.join(TMP, "ids.json");
  fs.writeFileSync(idsFile, JSON.stringify(ids));
  const out = path.join(TMP, "logits.bin");
  const out1 = path.join(TMP, "logits1.bin");
  ok(["logits", "-m", MODEL, "--ids", idsFile, "--out", out]);
  ok(["logits", "-m", MODEL, "--ids", idsFile, "--out", out1, "--batch", "3"]);
  const buf = fs.readFileSync(out);
  assert.equal(buf.length, ids.length * nVocab * 4);
  const row = (b, i) => new Float32Array(b.buffer.slice(b.byteOffset + i * nVocab * 4, b.byteOffset + (i + 1) * nVocab * 4));
  const argmax = (r) => r.reduce((best, v, i) => (v > r[best] ? i : best), 0);
  // The last row's argmax is the first greedy token of `run`.
  assert.equal(argmax(row(buf, ids.length - 1)), j.tokens[0]);
  // Batching does not change the result beyond float noise.
  const b1 = fs.readFileSync(out1);
  let maxDiff = 0;
  for (let i = 0; i < ids.length; ++i) {
    const a = row(buf, i), b = row(b1, i);
    for (let t = 0; t < nVocab; ++t) maxDiff = Math.max(maxDiff, Math.abs(a[t] - b[t]));
  }
  assert.ok(maxDiff < 1e-3, `batch 3 vs one batch: max |diff| ${maxDiff}`);
  // Teacher forcing the greedy tokens: each row predicts the next greedy token.
  const forced = ids.concat(j.tokens.slice(0, 2));
  fs.writeFileSync(idsFile, JSON.stringify(forced));
  ok(["logits", "-m", MODEL, "--ids", idsFile, "--out", out]);
  const fb = fs.readFileSync(out);
  assert.equal(argmax(row(fb, ids.length)), j.tokens[1]);
  assert.equal(argmax(row(fb, ids.length + 1)), j.tokens[2]);
});

test("logits: bad input fails and leaves no output file", {skip}, () => {
  const idsFile = path.join(TMP, "bad-ids.json");
  const out = path.join(TMP, "bad-logits.bin");
  fs.rmSync(out, {force: true});
  fs.writeFileSync(idsFile, JSON.stringify([1, 2, 99999999]));
  fails(["logits", "-m", MODEL, "--ids", idsFile, "--out", out], /out of range/);
  fs.writeFileSync(idsFile, "[1, 2,");
  fails(["logits", "-m", MODEL, "--ids", idsFile, "--out", out], /JSON/);
  fs.writeFileSync(idsFile, "[]");
  fails(["logits", "-m", MODEL, "--ids", idsFile, "--out", out], /no ids/);
  fails(["logits", "-m", MODEL, "--ids", path.join(TMP, "nope.json"), "--out", out]);
  assert.equal(fs.existsSync(out), false);
  assert.deepEqual(fs.readdirSync(TMP).filter((f) => f.startsWith("bad-logits.bin.tmp")), []);
});

// --------------------------------------------------------------------- bench

test("bench --batch: batched-bench rows in JSON, rates over all sequences", {skip}, () => {
  const rows = JSON.parse(ok(["bench", "-m", MODEL, "-p", "4", "-n", "3", "-b", "1,3", "-r", "1", "-t", "1",
                              "-o", "json"]).stdout);
  assert.deepEqual(rows.map((r) => [r.n_prompt, r.n_gen, r.n_seq]), [[4, 0, 1], [0, 3, 1], [4, 0, 3], [0, 3, 3]]);
  for (const r of rows) {
    const tokens = r.n_seq * (r.n_prompt + r.n_gen);
    assert.ok(Math.abs(r.samples_ts[0] - tokens * 1e9 / r.samples_ns[0]) <= 1e-6 * r.samples_ts[0], JSON.stringify(r));
  }
  const md = ok(["bench", "-m", MODEL, "-p", "0", "-n", "2", "-b", "2", "-r", "1"]).stdout;
  assert.match(md, /\| tg2 x2 \|/);
  fails(["bench", "-m", MODEL, "-b", "0"], /sequences per batch/);
});

// ---------------------------------------------------------------------- chat

test("chat: turns from stdin, /clear, /exit", {skip}, () => {
  const flags = ["-m", MODEL, "-n", "6", "--temp", "0", "--think-budget", "2"];
  const r = ok(["chat", ...flags, "-v"], {input: "Hello\nHow are you?\n/clear\nHello\n/exit\nnever read\n"});
  const summaries = r.stderr.match(/reasoning \d+ tokens, answer \d+ tokens/g) ?? [];
  assert.equal(summaries.length, 3, r.stderr);
  // A first turn (and the first turn after /clear) prints what `r1 run` prints
  // for the same question: same prompt format, same greedy tokens.
  const single = ok(["run", ...flags, "-p", "Hello"]).stdout;
  const [before, after] = r.stdout.split("(conversation cleared)\n");
  assert.ok(before.startsWith(single) && before.length > single.length, r.stdout);
  assert.equal(after, single);
  // End of input also ends the program cleanly.
  ok(["chat", "-m", MODEL, "-n", "2", "--temp", "0"], {input: "Hi\n"});
});

test("chat: a turn that does not fit is reported, the program goes on", {skip}, () => {
  const long = "word ".repeat(40);
  const r = r1(["chat", "-m", MODEL, "-c", "32", "-n", "2", "--temp", "0", "-v"], {input: `${long}\nHi\n`});
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^r1: prompt has \d+ tokens but the context is 32$/m);
  assert.equal((r.stderr.match(/reasoning \d+ tokens/g) ?? []).length, 1);
});

test("run: ANSI dim reasoning on a terminal, none with NO_COLOR", {skip: skip || (spawnSync("script", ["--version"]).error ? "no script(1)" : false)}, () => {
  const cmd = `${R1_BIN} run -m ${MODEL} -p Hi -n 5 --temp 0 2>/dev/null`;
  const tty = spawnSync("script", ["-qec", cmd, "/dev/null"], {encoding: "utf8", env: {...process.env, NO_COLOR: ""}});
  assert.equal(tty.status, 0);
  assert.ok(tty.stdout.includes("\x1b[2m"), JSON.stringify(tty.stdout));
  const plain = spawnSync("script", ["-qec", cmd, "/dev/null"], {encoding: "utf8", env: {...process.env, NO_COLOR: "1"}});
  assert.equal(plain.status, 0);
  assert.ok(!plain.stdout.includes("\x1b["), JSON.stringify(plain.stdout));
});

// Drives `r1 chat` on a pseudo-terminal (Python's pty module) and types Ctrl-C:
// during an answer it stops the answer; at the prompt, the first prints a hint
// and the second leaves with exit status 0.
const PTY_CHAT = `
import os, pty, select, sys, time
bin, model = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(bin, [bin, "chat", "-m", model, "-t", "1", "-c", "65536", "--ignore-eos", "--temp", "0", "-v"])
out = b""
def pump(seconds, until=None):
    global out
    end = time.time() + seconds
    while time.time() < end and not (until and until in out):
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try: out += os.read(fd, 65536)
            except OSError: return
pump(10, b"> ")
os.write(fd, b"Hello\\n"); pump(1.0)
os.write(fd, b"\\x03"); pump(10, b"cancelled")
os.write(fd, b"\\x03"); pump(10, b"press Ctrl-C again")
# A Ctrl-C that lands while the prompt is being redrawn can be taken as the first of
# the pair on a loaded machine, so repeat it (at most 3 times, 2 s apart) until exit.
end, status = time.time() + 10, None
for attempt in range(3):
    os.write(fd, b"\\x03")
    end = time.time() + 2
    while time.time() < end:
        pump(0.1)
        wp, st = os.waitpid(pid, os.WNOHANG)
        if wp == pid: status = st; break
    if status is not None: break
sys.stdout.write(out.decode("utf8", "replace"))
sys.stdout.write("\\nEXIT %s\\n" % (os.waitstatus_to_exitcode(status) if status is not None else "none"))
`;

test("chat: Ctrl-C stops the answer, twice at the prompt leaves", {skip: skip || (spawnSync("python3", ["--version"]).error ? "no python3" : false)}, () => {
  const r = spawnSync("python3", ["-c", PTY_CHAT, R1_BIN, MODEL], {encoding: "utf8", timeout: 60000});
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\(stopped\)/);
  assert.match(r.stdout, /reasoning \d+ tokens, answer \d+ tokens .*\| cancelled/);
  assert.match(r.stdout, /press Ctrl-C again/);
  assert.match(r.stdout, /\nEXIT 0\n$/);
});
