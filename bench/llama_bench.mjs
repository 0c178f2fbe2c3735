// llama.cpp's side of bench/compare_llama.sh: the tests of `r1 bench`, run by llama.cpp
// through node-llama-cpp 3.21.1 (tests/reference/node_modules), printed as JSON lines with
// llama-bench's field names (n_prompt, n_gen, n_depth, avg_ts, stddev_ts, samples_ts).
//
//   node bench/llama_bench.mjs -m MODEL [-p 128] [-n 128] [-d 0,2048] [-t 2] [-r 3] [--fa auto|on|off]
//
// Timing (as llama-bench):
//   depth d  d random tokens evaluated once per test (not timed); every repetition
//            rewinds the sequence to them (eraseContextTokenRanges)
//   pp<p>    p random tokens in one decode call, logits for the last one (controlledEvaluate)
//   tg<n>    n single-token decode calls with random tokens, logits for each (controlledEvaluate
//            with generateNext.token: greedy argmax over the vocabulary, ~0.1 ms per call)
// CPU-time rates (samples_cpu_ts: tokens per second of process CPU time, all threads)
// come with the wall-clock ones. One untimed warm-up per test. Flash attention defaults to node-llama-cpp's default ("auto",
// which turns it on for the CPU backend).
import {createRequire} from "node:module";
import path from "node:path";
import {fileURLToPath} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../tests/reference/package.json"));
const {getLlama, LlamaLogLevel} = await import(require.resolve("node-llama-cpp"));

function parseArgs(argv) {
  const o = {model: "", p: [128], n: [128], d: [0], t: 2, r: 3, fa: "auto", seed: 1234};
  const list = (s) => s.split(",").map((x) => {
    const v = Number(x);
    if (!Number.isInteger(v) || v < 0) throw new Error(`bad list element '${x}'`);
    return v;
  });
  for (let i = 2; i < argv.length; ++i) {
    const a = argv[i], v = argv[i + 1];
    if (a === "-m") o.model = v, ++i;
    else if (a === "-p") o.p = list(v), ++i;
    else if (a === "-n") o.n = list(v), ++i;
    else if (a === "-d") o.d = list(v), ++i;
    else if (a === "-t") o.t = Number(v), ++i;
    else if (a === "-r") o.r = Number(v), ++i;
    else if (a === "--fa") o.fa = v, ++i;
    else if (a === "--seed") o.seed = Number(v), ++i;
    else throw new Error(`unknown argument '${a}'`);
  }
  if (!o.model) throw new Error("usage: llama_bench.mjs -m MODEL [-p P] [-n N] [-d D] [-t T] [-r R] [--fa auto|on|off]");
  if (!["auto", "on", "off"].includes(o.fa)) throw new Error(`--fa must be auto, on or off`);
  return o;
}

// Small deterministic generator (mulberry32), so both sides can use the same kind of ids.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
const stddev = (v) => {
  if (v.length < 2) return 0;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) * (b - m), 0) / (v.length - 1));
};

const o = parseArgs(process.argv);
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: o.model, gpuLayers: 0});
const nVocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
const rand = rng(o.seed);
const randomTokens = (k) => Array.from({length: k}, () => Math.floor(rand() * nVocab));

const tests = [];
for (const d of o.d) {
  for (const p of o.p) if (p > 0) tests.push({p, n: 0, d});
  for (const n of o.n) if (n > 0) tests.push({p: 0, n, d});
}
const maxCtx = Math.max(...tests.map((t) => t.p + t.n + t.d)) + 16;
const maxP = Math.max(1, ...tests.map((t) => t.p), ...tests.map((t) => t.d));
const ctxOpts = {contextSize: maxCtx, batchSize: Math.min(maxP, 2048), threads: o.t, sequences: 1};
if (o.fa !== "auto") ctxOpts.flashAttention = o.fa === "on";
const ctx = await model.createContext(ctxOpts);
const seq = ctx.getSequence();

// Timed part of one repetition, on a sequence that holds exactly the depth tokens.
async function timed(prompt, gen) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  if (prompt.length > 0)
    await seq.controlledEvaluate(prompt.map((tok, i) => (i === prompt.length - 1 ? [tok, {generateNext: {token: true}}] : tok)));
  for (const tok of gen) await seq.controlledEvaluate([[tok, {generateNext: {token: true}}]]);
  const wall = Number(process.hrtime.bigint() - t0);
  const c = process.cpuUsage(c0);
  return {wall, cpu: (c.user + c.system) / 1e6};
}
// Drops everything after the first `depth` tokens.
async function rewind(depth) {
  if (seq.nextTokenIndex > depth) await seq.eraseContextTokenRanges([{start: depth, end: seq.nextTokenIndex}]);
}

for (const t of tests) {
  // The depth is prefilled once per test (not timed); each repetition rewinds to it.
  await seq.clearHistory();
  if (t.d > 0) await seq.evaluateWithoutGeneratingNewTokens(randomTokens(t.d));
  await timed(randomTokens(t.p), randomTokens(t.p > 0 ? 0 : 1));  // warm-up
  const ns = [], cpuTs = [];
  for (let i = 0; i < o.r; ++i) {
    await rewind(t.d);
    const tm = await timed(randomTokens(t.p), randomTokens(t.n));
    ns.push(tm.wall);
    cpuTs.push((t.p + t.n) / tm.cpu);
  }
  const ts = ns.map((x) => ((t.p + t.n) * 1e9) / x);
  const name = (t.p > 0 ? `pp${t.p}` : `tg${t.n}`) + (t.d > 0 ? ` @ d${t.d}` : "");
  console.log(JSON.stringify({
    engine: "llama.cpp (node-llama-cpp 3.21.1)", test: name, model_filename: o.model, n_threads: o.t,
    flash_attn: o.fa, n_prompt: t.p, n_gen: t.n, n_depth: t.d, avg_ns: mean(ns), stddev_ns: stddev(ns),
    avg_ts: mean(ts), stddev_ts: stddev(ts), samples_ts: ts, avg_cpu_ts: mean(cpuTs), samples_cpu_ts: cpuTs,
  }));
}
await ctx.dispose();
await model.dispose();
await llama.dispose();
