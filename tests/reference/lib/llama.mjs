// Oracle harness: llama.cpp (through node-llama-cpp 3.21.1) as the reference forward pass.
//
// Contracts:
//   loadModel(path)                      -> LlamaModel, cached per path for the process
//   tokenize(path, text, {special, bos}) -> number[] ids (special: parse control tokens in text;
//                                           bos: prepend the model's BOS id)
//   teacherForced(path, ids, opts)       -> {nVocab, logprobs: Float64Array[]}; logprobs[i] is the
//                                           FULL next-token log-distribution after ids[0..i]
//   greedy(path, ids, n, opts)           -> number[] of n ids generated at temperature 0
//
// How the full distribution is obtained: LlamaContextSequence.controlledEvaluate() with
// {generateNext: {probabilities: true}} on every input token marks every position as an output
// of ONE llama_decode (batch = ubatch = whole sequence), then samples each row with a greedy
// chain (temperature 0: no top-k/top-p/temperature in the chain), and the addon returns
// softmax(logits) over ALL n_vocab candidates as float32 (AddonContext.cpp SampleToken). We take
// log() of those; float32 probabilities keep ~7 significant digits, so log p is exact to ~1e-7
// relative for any p > 1e-38 (p == 0 only under float underflow, reported as -Infinity).
//
// Numerics (see /work/notes/llama_facts.md): flashAttention is forced ON for teacher forcing so
// that a >= 64-token ubatch takes ggml's tiled all-F32 attention (K/V rounded to F16 in the cache).
// Greedy decoding runs one token per ubatch; there flashAttention defaults to OFF, because the
// one-token FA kernel accumulates V in F16, while the non-FA path only rounds Q and the softmax
// probabilities to F16. Threads: 1 by default (see DEFAULT_THREADS).
import "./oracle_env.mjs";  // first: sets the environment the ggml libraries read when loaded
import {getLlama, LlamaLogLevel} from "node-llama-cpp";


let llamaPromise = null;
const models = new Map();

/** The process-wide Llama instance (CPU only, prebuilt binaries, errors-only logging). */
export function llamaInstance() {
  if (llamaPromise == null) {
    llamaPromise = getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error,
                             logger: (level, message) => {
                               if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal)
                                 process.stderr.write(`[llama.cpp] ${message}\n`);
                             }});
  }
  return llamaPromise;
}

/** Loads (once per path) a GGUF with llama.cpp; rejects with llama.cpp's message if it cannot. */
export async function loadModel(path) {
  if (!models.has(path)) {
    const p = (async () => {
      const llama = await llamaInstance();
      return llama.loadModel({modelPath: path, gpuLayers: 0});
    })();
    models.set(path, p);
    p.catch(() => models.delete(path));
  }
  return models.get(path);
}

/** Frees a cached model (tests that write many files call this to keep memory flat). */
export async function unloadModel(path) {
  const p = models.get(path);
  if (p == null) return;
  models.delete(path);
  const m = await p.catch(() => null);
  if (m != null) await m.dispose();
}

/** Vocabulary size as written in the GGUF (tokenizer.ggml.tokens). */
export async function vocabSize(path) {
  const model = await loadModel(path);
  return model.fileInfo.metadata.tokenizer.ggml.tokens.length;
}

/** Token ids for text. special: parse control/user-defined tokens written in the text. */
export async function tokenize(path, text, {special = false, bos = false} = {}) {
  const model = await loadModel(path);
  const ids = Array.from(model.tokenize(text, special));
  if (bos) {
    const b = model.tokens.bos;
    if (b == null) throw new Error(`model ${path} has no BOS token`);
    ids.unshift(b);
  }
  return ids;
}

/** Whether llama.cpp prepends BOS for this model (tokenizer.ggml.add_bos_token / vocab default). */
export async function addsBos(path) {
  const model = await loadModel(path);
  return model.tokens.shouldPrependBosToken;
}

/** Text for token ids (special tokens rendered as text). */
export async function detokenize(path, ids) {
  const model = await loadModel(path);
  return model.detokenize(ids, true);
}

// ggml's thread pool spin-waits at every op barrier; on a loaded 2-core machine a second thread
// made a 64-token greedy run on a tiny model take 18 s instead of 0.3 s (measured). Results do
// not depend on the thread count (every kernel splits output rows; the only cross-thread
// reduction, flash-attention split-KV, needs >= 512 cached tokens in a 1-token flash-attention
// decode, which the harness never runs). Default 1; R1_ORACLE_THREADS overrides.
const DEFAULT_THREADS = Number(process.env.R1_ORACLE_THREADS) || 1;

function contextOptions(nTokens, {flashAttention, threads = DEFAULT_THREADS, contextSize} = {}) {
  const size = contextSize ?? Math.max(256, Math.ceil((nTokens + 8) / 256) * 256);
  return {
    contextSize: size,
    batchSize: size,          // one llama_decode = one ubatch for the whole prompt
    threads,
    flashAttention,
    sequences: 1,
  };
}

/**
 * Teacher-forced next-token log-probabilities for every position.
 * opts.flashAttention (default true), opts.threads (default 1), opts.contextSize.
 * Returns {nVocab, logprobs} with logprobs[i][t] = log P(token t | ids[0..i]).
 */
export async function teacherForced(path, ids, opts = {}) {
  if (ids.length === 0) return {nVocab: 0, logprobs: []};
  const model = await loadModel(path);
  const ctx = await model.createContext(contextOptions(ids.length, {flashAttention: true, ...opts}));
  try {
    const seq = ctx.getSequence();
    const input = ids.map((t) => [t, {generateNext: {probabilities: true}}]);
    const res = await seq.controlledEvaluate(input);
    let nVocab = 0;
    for (const r of res) if (r?.next?.probabilities) { nVocab = r.next.probabilities.size; break; }
    const logprobs = res.map((r, i) => {
      const probs = r?.next?.probabilities;
      if (probs == null) throw new Error(`no distribution returned for position ${i}`);
      if (probs.size !== nVocab) throw new Error(`position ${i}: ${probs.size} candidates, expected ${nVocab}`);
      const row = new Float64Array(nVocab);
      for (const [tok, p] of probs) row[tok] = Math.log(p);
      return row;
    });
    return {nVocab, logprobs};
  } finally {
    await ctx.dispose();
  }
}

/**
 * Greedy (temperature 0) continuation of ids: n new token ids. Stops early only if llama.cpp
 * stops (it does not stop on EOS here: stopOnAbortSignal only; EOS is returned like any token).
 * opts.flashAttention (default false), opts.threads (default 1).
 */
export async function greedy(path, ids, n, opts = {}) {
  const model = await loadModel(path);
  const ctx = await model.createContext(contextOptions(ids.length + n, {flashAttention: false, ...opts}));
  try {
    const seq = ctx.getSequence();
    const out = [];
    // Feed the prompt as one batch asking for the next token on its last position, then feed
    // each chosen token back one at a time (one ubatch per decode step, like any generator).
    let next = ids.slice();
    for (let step = 0; step < n; step++) {
      const input = next.map((t, i) => (i === next.length - 1 ? [t, {generateNext: {token: true}}] : t));
      const res = await seq.controlledEvaluate(input);
      const tok = res[res.length - 1]?.next?.token;
      if (tok == null) throw new Error(`llama.cpp produced no token at step ${step}`);
      out.push(tok);
      next = [tok];
    }
    return out;
  } finally {
    await ctx.dispose();
  }
}

/** Disposes every cached model and the Llama instance (call at the end of a test file). */
export async function shutdown() {
  for (const path of [...models.keys()]) await unloadModel(path);
  if (llamaPromise != null) {
    const llama = await llamaPromise;
    llamaPromise = null;
    await llama.dispose();
  }
}
